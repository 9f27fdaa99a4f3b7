import type { Attachment, AttachmentKind, Mention } from '../../core/types';
import { ignore, type Normalized } from '../shared/normalized';
import type { WebMessage } from './client';

export interface WebIdentity {
  channel: string;
  tenant: string;
  /** The linked account's own id (`<number>@c.us`), once the client is ready. */
  ownId?: string;
}

const MEDIA: Record<string, AttachmentKind> = {
  image: 'image',
  video: 'video',
  audio: 'audio',
  ptt: 'voice',
  document: 'file',
  sticker: 'sticker',
};

const phoneOf = (id: string | undefined) =>
  id && /^\d{6,15}@c\.us$/.test(id) ? `+${id.split('@')[0]}` : undefined;

/** vCard 3.0 as WhatsApp writes it: the FN line and every TEL line. */
export function parseVCard(card: string): { name: string; phones: string[] } {
  const lines = card.split(/\r?\n/);
  const name = lines.find((l) => /^FN[;:]/i.test(l))?.replace(/^FN[^:]*:/i, '') ?? '';
  const phones = lines
    .filter((l) => /^(item\d+\.)?TEL[;:]/i.test(l))
    .map((l) => l.slice(l.lastIndexOf(':') + 1).trim())
    .filter(Boolean);
  return { name, phones };
}

/**
 * One whatsapp-web.js `message` event into an InboundEvent. Direct chats are `<number>@c.us`, groups
 * `<id>@g.us` (the sender is `author`); the phone of a `@c.us` sender is vouched for by WhatsApp.
 * Media is fetched later by message id (`fetchFile`), so the event stays small.
 */
export function normalizeWebMessage(
  message: WebMessage,
  identity: WebIdentity,
  receivedAt = new Date().toISOString(),
): Normalized {
  if (!message?.id?._serialized) return ignore('malformed');
  if (message.fromMe || message.id.fromMe) return ignore('own_echo');
  if (message.from === 'status@broadcast') return ignore('status_broadcast');
  const isGroup = message.from.endsWith('@g.us');
  const senderId = isGroup ? message.author : message.from;
  if (!senderId) return ignore('malformed');
  const mentions: Mention[] = (message.mentionedIds ?? []).map((id) => ({
    id,
    isBot: identity.ownId !== undefined && id === identity.ownId,
  }));
  const mentionsBot = mentions.some((m) => m.isBot);
  const attachments: Attachment[] = [];
  let text: string | undefined = message.body || undefined;
  const kind = MEDIA[message.type];
  if (kind) {
    attachments.push({
      kind,
      fileId: message.id._serialized,
      ...(message._data?.mimetype ? { mimeType: message._data.mimetype } : {}),
      ...(message._data?.filename ? { name: message._data.filename } : {}),
      ...(message._data?.size !== undefined ? { sizeBytes: message._data.size } : {}),
      ...(text ? { caption: text } : {}),
    });
    // A sticker's or voice note's body is its thumbnail, not words.
    if (kind === 'sticker' || kind === 'voice' || kind === 'audio') text = undefined;
  } else if (message.type === 'location' && message.location) {
    const { latitude, longitude, name, address, description } = message.location;
    attachments.push({
      kind: 'location',
      location: {
        latitude: Number(latitude),
        longitude: Number(longitude),
        ...((name ?? description) ? { name: name ?? description?.split('\n')[0] } : {}),
        ...(address ? { address } : {}),
      },
    });
    text = undefined;
  } else if (message.type === 'vcard' || message.type === 'multi_vcard') {
    const cards = message.vCards?.length ? message.vCards : [message.body];
    attachments.push({ kind: 'contacts', contacts: cards.map(parseVCard) });
    text = undefined;
  } else if (message.type !== 'chat') {
    return ignore('unsupported_type');
  }
  if (!text && attachments.length === 0) return ignore('empty_message');
  const phone = phoneOf(senderId);
  return {
    event: {
      id: `${identity.channel}:${message.id._serialized}`,
      kind: 'message',
      ref: { channel: identity.channel, tenant: identity.tenant, conversation: message.from },
      sender: { id: senderId, ...(message._data?.notifyName ? { name: message._data.notifyName } : {}) },
      receivedAt,
      ...(text ? { text } : {}),
      ...(attachments.length ? { attachments } : {}),
      ...(mentions.length ? { mentions } : {}),
      addressedToBot: !isGroup || mentionsBot,
      platformMessageId: message.id._serialized,
      ...(message._data?.quotedStanzaID ? { replyToMessageId: message._data.quotedStanzaID } : {}),
      channelData: {
        ...(phone ? { verified: { phone } } : {}),
        whatsappWeb: {
          chatType: isGroup ? 'group' : 'direct',
          type: message.type,
          forwarded: !!message.isForwarded,
        },
      },
      raw: {
        id: message.id._serialized,
        from: message.from,
        author: message.author,
        type: message.type,
        timestamp: message.timestamp,
        body: message.body,
      },
    },
  };
}
