import type { Attachment, AttachmentKind, InboundEvent } from '../../core/types';
import { checkedNormalized, ignore, type Normalized } from '../shared/normalized';
import type { WaChangeValue, WaMedia, WaMessage, WaWebhook } from './wire';

export interface WhatsAppIdentity {
  /** Channel id from config: event ids are `<channel>:<wamid>`. */
  channel: string;
  tenant: string;
  /** Changes for other numbers of the same business account are not this channel's. */
  phoneNumberId: string;
}

/** A delivery receipt for a message the hub sent: counted and logged, never a chat message. */
export interface StatusReceipt {
  messageId: string;
  state: 'sent' | 'delivered' | 'read' | 'failed' | 'other';
  error?: { code?: number; title?: string };
}

export interface WhatsAppBatch {
  messages: Normalized[];
  statuses: StatusReceipt[];
  /** Messages that could not be read (a HubError 400 `whatsapp.malformed_update`), kept for inspection. */
  rejected: Array<{ message: unknown; error: unknown }>;
}

const MEDIA_TYPES: Record<string, AttachmentKind> = {
  image: 'image',
  audio: 'audio',
  video: 'video',
  document: 'file',
  sticker: 'sticker',
};

/**
 * One webhook POST into events and receipts. A POST may batch several entries, changes, messages
 * and statuses; each message becomes its own event, keyed by its wamid so Meta's redeliveries dedupe.
 */
export function normalizeWhatsAppWebhook(
  payload: WaWebhook,
  identity: WhatsAppIdentity,
  receivedAt = new Date().toISOString(),
): WhatsAppBatch {
  const batch: WhatsAppBatch = { messages: [], statuses: [], rejected: [] };
  if (payload?.object !== 'whatsapp_business_account' || !Array.isArray(payload.entry)) {
    batch.messages.push(ignore('not_whatsapp'));
    return batch;
  }
  for (const entry of payload.entry) {
    for (const change of arrayOf(entry?.changes)) {
      const value = change?.value;
      if (change?.field !== 'messages' || !value || !isRecord(value)) {
        batch.messages.push(ignore('unsupported_field'));
        continue;
      }
      if (value.metadata?.phone_number_id && value.metadata.phone_number_id !== identity.phoneNumberId) {
        batch.messages.push(ignore('other_phone_number'));
        continue;
      }
      // Each message on its own: one that cannot be read (a HubError 400) does not sink the others.
      for (const message of arrayOf(value.messages)) {
        try {
          batch.messages.push(
            checkedNormalized('whatsapp', () => normalizeMessage(message, value, identity, receivedAt)),
          );
        } catch (error) {
          batch.rejected.push({ message, error });
        }
      }
      for (const status of arrayOf(value.statuses)) {
        if (!isRecord(status) || typeof status.id !== 'string' || typeof status.status !== 'string') continue;
        const state = ['sent', 'delivered', 'read', 'failed'].includes(status.status)
          ? (status.status as StatusReceipt['state'])
          : 'other';
        const error = arrayOf(status.errors)[0];
        batch.statuses.push({
          messageId: status.id,
          state,
          ...(isRecord(error) ? { error: { code: error.code, title: error.title ?? error.message } } : {}),
        });
      }
    }
  }
  return batch;
}

function normalizeMessage(
  message: WaMessage,
  value: WaChangeValue,
  identity: WhatsAppIdentity,
  receivedAt: string,
): Normalized {
  if (typeof message?.id !== 'string' || typeof message.from !== 'string' || !message.id || !message.from)
    return ignore('malformed');
  const contact = arrayOf(value.contacts).find((c) => isRecord(c) && c.wa_id === message.from);
  const profile = typeof contact?.profile?.name === 'string' ? contact.profile.name : undefined;
  const sentAt = message.timestamp ? Number(message.timestamp) * 1000 : undefined;
  const base: Omit<InboundEvent, 'kind'> = {
    id: `${identity.channel}:${message.id}`,
    ref: { channel: identity.channel, tenant: identity.tenant, conversation: message.from },
    sender: { id: message.from, ...(profile ? { name: profile } : {}) },
    receivedAt,
    addressedToBot: true,
    platformMessageId: message.id,
    ...(message.context?.id ? { replyToMessageId: message.context.id } : {}),
    channelData: {
      // WhatsApp vouches for the number it delivers from; the orders module compares digits.
      verified: { phone: `+${message.from}` },
      whatsapp: {
        phoneNumberId: value.metadata?.phone_number_id,
        type: message.type,
        ...(sentAt !== undefined && Number.isFinite(sentAt) ? { sentAt } : {}),
        ...(message.context?.forwarded ? { forwarded: true } : {}),
      },
    },
    raw: message,
  };

  switch (message.type) {
    case 'text': {
      const text = message.text?.body;
      if (typeof text !== 'string') return ignore('malformed');
      if (!text) return ignore('empty_message');
      return { event: { ...base, kind: 'message', text } };
    }
    case 'image':
    case 'audio':
    case 'video':
    case 'document':
    case 'sticker': {
      const media = message[message.type];
      if (!media?.id) return ignore('malformed');
      const attachment = mediaAttachment(message.type, media);
      return {
        event: {
          ...base,
          kind: 'message',
          ...(media.caption ? { text: media.caption } : {}),
          attachments: [attachment],
        },
      };
    }
    case 'location': {
      const place = message.location;
      if (typeof place?.latitude !== 'number' || typeof place.longitude !== 'number')
        return ignore('malformed');
      return {
        event: {
          ...base,
          kind: 'message',
          attachments: [
            {
              kind: 'location',
              location: {
                latitude: place.latitude,
                longitude: place.longitude,
                ...(place.name ? { name: place.name } : {}),
                ...(place.address ? { address: place.address } : {}),
              },
              ...(place.url ? { url: place.url } : {}),
            },
          ],
        },
      };
    }
    case 'contacts': {
      const cards = arrayOf(message.contacts).filter(isRecord);
      if (cards.length === 0) return ignore('malformed');
      const contacts = cards.map((card) => ({
        name:
          card.name?.formatted_name ??
          [card.name?.first_name, card.name?.last_name].filter(Boolean).join(' '),
        phones: arrayOf(card.phones)
          .map((p) => (isRecord(p) ? (p.phone ?? p.wa_id ?? '') : ''))
          .filter((phone): phone is string => typeof phone === 'string' && phone !== ''),
      }));
      return { event: { ...base, kind: 'message', attachments: [{ kind: 'contacts', contacts }] } };
    }
    case 'interactive': {
      // A reply button (`button_reply`) or a row of a list message (`list_reply`, with a description).
      const reply = message.interactive?.button_reply ?? message.interactive?.list_reply;
      if (typeof reply?.id !== 'string' || !reply.id) return ignore('unsupported_interactive');
      const title = typeof reply.title === 'string' && reply.title ? reply.title : undefined;
      return {
        event: {
          ...base,
          kind: 'action',
          action: { id: reply.id, ...(title ? { title } : {}), value: reply.id },
        },
      };
    }
    case 'button': {
      // A template's quick-reply button: the payload is what the template defined, the text what was shown.
      const id = message.button?.payload || message.button?.text;
      if (typeof id !== 'string' || !id) return ignore('malformed');
      return {
        event: {
          ...base,
          kind: 'action',
          action: { id, ...(message.button?.text ? { title: message.button.text } : {}), value: id },
        },
      };
    }
    case 'reaction': {
      const reaction = message.reaction;
      if (!reaction?.message_id) return ignore('malformed');
      // An empty emoji is WhatsApp's way of saying the reaction was removed.
      return {
        event: {
          ...base,
          kind: 'reaction',
          reaction: { name: reaction.emoji ?? '', messageId: reaction.message_id, added: !!reaction.emoji },
        },
      };
    }
    default:
      return ignore('unsupported_type');
  }
}

function mediaAttachment(type: keyof typeof MEDIA_TYPES, media: WaMedia): Attachment {
  const kind: AttachmentKind = type === 'audio' && media.voice ? 'voice' : (MEDIA_TYPES[type] ?? 'file');
  return {
    kind,
    // Fetched with GET /{media-id} and then its URL, both with the access token.
    fileId: media.id,
    ...(media.mime_type ? { mimeType: media.mime_type } : {}),
    ...(media.filename ? { name: media.filename } : {}),
    ...(media.caption ? { caption: media.caption } : {}),
  };
}

/** An object (not null, not an array), keeping the wire type the payload was read as. */
const isRecord = <T>(value: T): value is T & object =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** A list field as an array, whatever the payload put there. */
function arrayOf<T>(value: T[] | undefined): T[] {
  return Array.isArray(value) ? value : [];
}
