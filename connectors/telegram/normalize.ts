import type { Attachment, ConversationRef, InboundEvent, Mention, Sender } from '../../core/types';
import { guardNormalize, ignore, type Normalized, tidyText } from '../shared/normalized';
import type { TgChat, TgChatMemberUpdated, TgEntity, TgMessage, TgUpdate, TgUser } from './wire';

export interface TelegramIdentity {
  /** Channel id from config: event ids are `<channel>:<update_id>`. */
  channel: string;
  tenant: string;
  /** The bot's own user id (the number before ":" in its token). */
  botId: number;
  /** The bot's @username without "@", when known (from config or getMe): mentions of it are stripped. */
  botUsername?: string;
}

const ACTIVE_STATUSES = new Set(['creator', 'administrator', 'member', 'restricted']);

/**
 * One Telegram Update into one InboundEvent, or the reason it is not one. Pure: no network, no clock
 * other than `receivedAt`. Entity offsets are UTF-16 code units, which is what JavaScript strings
 * index. A field of the wrong type is an ignored update or a HubError 400 (shared/normalized.ts
 * `guardNormalize`), never a TypeError.
 */
export const normalizeTelegramUpdate = guardNormalize('telegram', readTelegramUpdate);

/** Telegram's GroupAnonymousBot: the `from` of a message an anonymous group admin wrote. */
export const GROUP_ANONYMOUS_BOT_ID = 1087968824;

function readTelegramUpdate(
  update: TgUpdate,
  identity: TelegramIdentity,
  receivedAt = new Date().toISOString(),
): Normalized {
  if (typeof update?.update_id !== 'number') return ignore('not_an_update');
  const id = `${identity.channel}:${update.update_id}`;
  const base = { id, receivedAt, raw: update };

  const message = update.message ?? update.channel_post;
  if (message) return fromMessage(message, 'message', base, identity);
  const edited = update.edited_message ?? update.edited_channel_post;
  if (edited) return fromMessage(edited, 'edit', base, identity);
  if (update.callback_query) {
    const query = update.callback_query;
    if (!query.message) return ignore('inline_callback');
    if (query.from.id === identity.botId) return ignore('own_echo');
    return {
      event: {
        ...base,
        kind: 'action',
        ref: refOf(query.message, identity),
        sender: senderOf(query.from),
        locale: query.from.language_code,
        addressedToBot: true,
        platformMessageId: String(query.message.message_id),
        action: { id: query.data ?? '', value: query.data },
        channelData: { telegram: { callbackQueryId: query.id, chatType: query.message.chat.type } },
      },
    };
  }
  const member = update.my_chat_member ?? update.chat_member;
  if (member) return fromMemberUpdate(member, base, identity);
  return ignore('unsupported_update');
}

type Base = Pick<InboundEvent, 'id' | 'receivedAt' | 'raw'>;

function fromMessage(
  message: TgMessage,
  kind: 'message' | 'edit',
  base: Base,
  identity: TelegramIdentity,
): Normalized {
  if (!isChat(message.chat)) return ignore('malformed');
  if (message.from?.id === identity.botId) return ignore('own_echo');
  const ref = refOf(message, identity);
  // On behalf of a chat (an anonymous group admin, a channel, a linked channel's forward): `from`
  // is a placeholder account (GroupAnonymousBot, Telegram 777000) shared by everyone who posts so;
  // the chat it speaks for is the sender.
  const onBehalfOf = message.sender_chat;
  const sender = isChat(onBehalfOf)
    ? {
        id: String(onBehalfOf.id),
        ...(typeof onBehalfOf.title === 'string' ? { name: onBehalfOf.title } : {}),
        isBot: false,
      }
    : message.from
      ? senderOf(message.from)
      : { id: String(message.chat.id) };
  const chatType = message.chat.type ?? (message.chat.id > 0 ? 'private' : 'group');
  const channelData = { telegram: { chatType, messageId: message.message_id, editDate: message.edit_date } };

  const joined = uniqueUsers([
    ...(message.new_chat_members ?? []),
    ...(message.new_chat_member ? [message.new_chat_member] : []),
    ...(message.new_chat_participant ? [message.new_chat_participant] : []),
  ]);
  if (joined.length > 0 || message.left_chat_member) {
    const members = joined.length > 0 ? joined : [message.left_chat_member as TgUser];
    return {
      event: {
        ...base,
        kind: 'membership',
        ref,
        sender,
        platformMessageId: String(message.message_id),
        membership: {
          change: joined.length > 0 ? 'joined' : 'left',
          memberIds: members.map((user) => String(user.id)),
          botIncluded: members.some((user) => user.id === identity.botId),
        },
        channelData,
      },
    };
  }

  const hasText = typeof message.text === 'string';
  const rawText = hasText
    ? (message.text as string)
    : typeof message.caption === 'string'
      ? message.caption
      : '';
  const entities = hasText ? message.entities : message.caption_entities;
  const { text, mentions, mentionsBot, command } = readEntities(
    rawText,
    Array.isArray(entities) ? entities : [],
    identity,
  );
  const attachments = attachmentsOf(message);
  if (!text && attachments.length === 0) return ignore('empty_message');
  const repliesToBot = message.reply_to_message?.from?.id === identity.botId;
  return {
    event: {
      ...base,
      kind,
      ref,
      sender,
      locale: message.from?.language_code,
      ...(text ? { text } : {}),
      ...(attachments.length > 0 ? { attachments } : {}),
      ...(mentions.length > 0 ? { mentions } : {}),
      addressedToBot: chatType === 'private' || mentionsBot || repliesToBot || command,
      platformMessageId: String(message.message_id),
      ...(message.reply_to_message ? { replyToMessageId: String(message.reply_to_message.message_id) } : {}),
      channelData,
    },
  };
}

function fromMemberUpdate(member: TgChatMemberUpdated, base: Base, identity: TelegramIdentity): Normalized {
  const wasIn = ACTIVE_STATUSES.has(member.old_chat_member.status);
  const isIn = ACTIVE_STATUSES.has(member.new_chat_member.status);
  if (wasIn === isIn) return ignore('member_status_change');
  const user = member.new_chat_member.user;
  return {
    event: {
      ...base,
      kind: 'membership',
      ref: { channel: identity.channel, tenant: identity.tenant, conversation: String(member.chat.id) },
      sender: senderOf(member.from),
      membership: {
        change: isIn ? 'joined' : 'left',
        memberIds: [String(user.id)],
        botIncluded: user.id === identity.botId,
      },
      channelData: {
        telegram: {
          chatType: member.chat.type,
          oldStatus: member.old_chat_member.status,
          newStatus: member.new_chat_member.status,
        },
      },
    },
  };
}

function refOf(message: TgMessage, identity: TelegramIdentity): ConversationRef {
  return {
    channel: identity.channel,
    tenant: identity.tenant,
    conversation: String(message.chat.id),
    // Forum topics are separate threads of one chat.
    ...(message.is_topic_message && message.message_thread_id
      ? { thread: String(message.message_thread_id) }
      : {}),
  };
}

/** A chat as the Bot API sends it: at least a numeric id. */
function isChat(chat: unknown): chat is TgChat {
  return typeof chat === 'object' && chat !== null && typeof (chat as TgChat).id === 'number';
}

function senderOf(user: TgUser): Sender {
  const name = [user.first_name, user.last_name].filter(Boolean).join(' ') || user.username;
  return { id: String(user.id), ...(name ? { name } : {}), isBot: user.is_bot ?? false };
}

function uniqueUsers(users: TgUser[]): TgUser[] {
  const seen = new Map<number, TgUser>();
  for (const user of users) if (!seen.has(user.id)) seen.set(user.id, user);
  return [...seen.values()];
}

function readEntities(
  text: string,
  entities: TgEntity[],
  identity: TelegramIdentity,
): { text: string; mentions: Mention[]; mentionsBot: boolean; command: boolean } {
  const botHandle = identity.botUsername ? `@${identity.botUsername.toLowerCase()}` : undefined;
  const mentions: Mention[] = [];
  const cuts: Array<{ offset: number; length: number }> = [];
  let mentionsBot = false;
  let command = false;
  for (const entity of entities) {
    if (typeof entity?.offset !== 'number' || typeof entity.length !== 'number') continue;
    const slice = text.slice(entity.offset, entity.offset + entity.length);
    if (entity.type === 'mention') {
      // An @username by its offsets; offsets that point elsewhere (an edited text, a client's bug)
      // name nobody, and the words stay as written.
      if (!slice.startsWith('@') || slice.length < 2) continue;
      const isBot = botHandle !== undefined && slice.toLowerCase() === botHandle;
      mentions.push({ id: slice.slice(1), text: slice, isBot });
      if (isBot) {
        mentionsBot = true;
        cuts.push(entity);
      }
    } else if (entity.type === 'text_mention' && entity.user) {
      const isBot = entity.user.id === identity.botId;
      mentions.push({ id: String(entity.user.id), text: slice, isBot });
      if (isBot) {
        mentionsBot = true;
        cuts.push(entity);
      }
    } else if (entity.type === 'bot_command') {
      // "/help@FakeHubBot" in a group: the suffix names the bot and goes; "/help" stays.
      const at = slice.indexOf('@');
      const target = at >= 0 ? slice.slice(at).toLowerCase() : undefined;
      if (target === undefined || target === botHandle) command = true;
      if (target !== undefined && target === botHandle) {
        cuts.push({ offset: entity.offset + at, length: entity.length - at });
      }
    }
  }
  let result = text;
  for (const cut of cuts.sort((a, b) => b.offset - a.offset)) {
    result = result.slice(0, cut.offset) + result.slice(cut.offset + cut.length);
  }
  return { text: cuts.length > 0 ? tidyText(result) : result, mentions, mentionsBot, command };
}

function attachmentsOf(message: TgMessage): Attachment[] {
  const attachments: Attachment[] = [];
  const caption = message.caption;
  if (message.photo?.length) {
    const largest = [...message.photo].sort(
      (a, b) => (b.width ?? 0) * (b.height ?? 0) - (a.width ?? 0) * (a.height ?? 0),
    )[0];
    if (largest) attachments.push({ kind: 'image', ...file(largest), mimeType: 'image/jpeg', caption });
  }
  if (message.voice) attachments.push({ kind: 'voice', ...file(message.voice), caption });
  if (message.audio) attachments.push({ kind: 'audio', ...file(message.audio), caption });
  if (message.video) attachments.push({ kind: 'video', ...file(message.video), caption });
  if (message.video_note) attachments.push({ kind: 'video', ...file(message.video_note) });
  if (message.animation) attachments.push({ kind: 'video', ...file(message.animation), caption });
  // An animation also carries a `document` copy of itself.
  if (message.document && !message.animation) {
    attachments.push({ kind: 'file', ...file(message.document), caption });
  }
  if (message.sticker) attachments.push({ kind: 'sticker', ...file(message.sticker) });
  const venue = message.venue;
  const location = venue?.location ?? message.location;
  if (location) {
    attachments.push({
      kind: 'location',
      location: {
        latitude: location.latitude,
        longitude: location.longitude,
        ...(venue?.title ? { name: venue.title } : {}),
        ...(venue?.address ? { address: venue.address } : {}),
      },
    });
  }
  if (message.contact) {
    const { first_name, last_name, phone_number } = message.contact;
    attachments.push({
      kind: 'contacts',
      contacts: [{ name: [first_name, last_name].filter(Boolean).join(' '), phones: [phone_number] }],
    });
  }
  return attachments;
}

/** File fields as the Attachment holds them; the file itself is fetched with getFile(fileId). */
function file(source: {
  file_id: string;
  file_size?: number;
  mime_type?: string;
  file_name?: string;
}): Pick<Attachment, 'fileId' | 'sizeBytes' | 'mimeType' | 'name'> {
  return {
    fileId: source.file_id,
    ...(source.file_size !== undefined ? { sizeBytes: source.file_size } : {}),
    ...(source.mime_type ? { mimeType: source.mime_type } : {}),
    ...(source.file_name ? { name: source.file_name } : {}),
  };
}
