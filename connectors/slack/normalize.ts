import type { Attachment, ConversationRef, InboundEvent, Mention } from '../../core/types';
import { guardNormalize, ignore, type Normalized, tidyText } from '../shared/normalized';
import type { SlackBlockActions, SlackEnvelope, SlackMessageEvent } from './wire';

export interface SlackIdentity {
  channel: string;
  tenant: string;
  /** The bot's user id (U…); from config, auth.test, or the envelope's bot authorization. */
  botUserId?: string;
  /** The bot's bot id (B…). */
  botId?: string;
}

/** System subtypes that carry no customer words; joins arrive again as member_joined_channel. */
const SILENT_SUBTYPES = new Set([
  'channel_join',
  'channel_leave',
  'group_join',
  'group_leave',
  'channel_topic',
  'channel_purpose',
  'channel_name',
  'channel_archive',
  'channel_unarchive',
  'pinned_item',
  'unpinned_item',
  'ekm_access_denied',
]);

const unescapeSlack = (text: string) =>
  text.replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&amp;', '&');

/**
 * One Events API envelope into one InboundEvent, or why not. Messages are keyed by channel + ts, so
 * the `message` and `app_mention` events Slack sends for one message, and its retries, are one event.
 * A field of the wrong type is an ignored update or a HubError 400, never a TypeError.
 */
export const normalizeSlackEvent = guardNormalize('slack', readSlackEvent);

/** A Block Kit button press (interactivity payload) as an action event; guarded as {@link normalizeSlackEvent}. */
export const normalizeSlackAction = guardNormalize('slack', readSlackAction);

const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

function readSlackEvent(
  envelope: SlackEnvelope,
  identity: SlackIdentity,
  receivedAt = new Date().toISOString(),
): Normalized {
  if (envelope?.type !== 'event_callback' || !envelope.event) return ignore('not_an_event');
  const event = envelope.event;
  const botAuthorization = envelope.authorizations?.find((a) => a.is_bot);
  const botUserId = identity.botUserId ?? botAuthorization?.user_id;
  const ownApp = (e: SlackMessageEvent) =>
    (envelope.api_app_id !== undefined && e.app_id === envelope.api_app_id) ||
    (identity.botId !== undefined && e.bot_id === identity.botId) ||
    (botUserId !== undefined && e.user === botUserId);
  const channelData = {
    slack: {
      team: envelope.team_id,
      enterprise: envelope.enterprise_id,
      eventId: envelope.event_id,
      type: event.type,
    },
  };
  const base = { receivedAt, raw: envelope, channelData };

  if (event.type === 'member_joined_channel' || event.type === 'member_left_channel') {
    if (!event.user || !event.channel) return ignore('malformed');
    return {
      event: {
        ...base,
        id: `${identity.channel}:${envelope.event_id ?? `${event.type}:${event.channel}:${event.user}:${event.event_ts}`}`,
        kind: 'membership',
        ref: { channel: identity.channel, tenant: identity.tenant, conversation: event.channel },
        sender: { id: event.inviter ?? event.user },
        membership: {
          change: event.type === 'member_joined_channel' ? 'joined' : 'left',
          memberIds: [event.user],
          botIncluded: event.user === botUserId,
        },
      },
    };
  }
  if (event.type === 'reaction_added' || event.type === 'reaction_removed') {
    return normalizeReaction(event, envelope, identity, botUserId, base);
  }
  if (event.type !== 'message' && event.type !== 'app_mention') return ignore('unsupported_event');
  if (typeof event.channel !== 'string' || !event.channel) return ignore('malformed');

  if (event.subtype === 'message_changed') {
    const edited = event.message;
    if (typeof edited?.ts !== 'string') return ignore('malformed');
    if (ownApp(edited)) return ignore('own_echo');
    if (edited.bot_id) return ignore('bot_message');
    // Slack also reports an unfurled link or a re-rendered block as message_changed: the words are
    // the same, so there is nothing new to answer.
    const previous = event.previous_message;
    if (previous !== undefined && str(previous?.text) === str(edited.text)) return ignore('edit_unchanged');
    const text = readText(str(edited.text) ?? '', botUserId);
    return {
      event: {
        ...base,
        id: `${identity.channel}:${event.channel}:${event.ts ?? edited.edited?.ts}`,
        kind: 'edit',
        ref: refOf(identity, event.channel, edited),
        sender: { id: str(edited.user) || 'unknown' },
        text: text.text,
        ...(text.mentions.length ? { mentions: text.mentions } : {}),
        addressedToBot: false,
        platformMessageId: edited.ts,
      },
    };
  }
  if (event.subtype === 'message_deleted') return ignore('deleted');
  if (event.subtype && SILENT_SUBTYPES.has(event.subtype)) return ignore(`system_${event.subtype}`);
  if (ownApp(event)) return ignore('own_echo');
  if (event.bot_id || event.subtype === 'bot_message') return ignore('bot_message');
  if (event.subtype && event.subtype !== 'file_share' && event.subtype !== 'thread_broadcast') {
    return ignore(`subtype_${event.subtype}`);
  }
  if (typeof event.ts !== 'string' || typeof event.user !== 'string' || !event.ts || !event.user)
    return ignore('malformed');

  const { text, mentions, mentionsBot } = readText(str(event.text) ?? '', botUserId);
  const files = Array.isArray(event.files) ? event.files : [];
  const attachments: Attachment[] = files.map((file) => ({
    kind: file.mimetype?.startsWith('image/')
      ? 'image'
      : file.mimetype?.startsWith('video/')
        ? 'video'
        : file.mimetype?.startsWith('audio/')
          ? 'audio'
          : 'file',
    fileId: file.id,
    // Private URLs: fetched with the bot token in an Authorization header.
    ...(file.url_private_download || file.url_private
      ? { url: file.url_private_download ?? file.url_private }
      : {}),
    ...(file.name ? { name: file.name } : {}),
    ...(file.mimetype ? { mimeType: file.mimetype } : {}),
    ...(file.size !== undefined ? { sizeBytes: file.size } : {}),
  }));
  if (!text && attachments.length === 0) return ignore('empty_message');
  const isDirect = event.channel_type === 'im' || event.channel.startsWith('D');
  const inbound: InboundEvent = {
    ...base,
    id: `${identity.channel}:${event.channel}:${event.ts}`,
    kind: 'message',
    ref: refOf(identity, event.channel, event),
    sender: { id: event.user },
    ...(text ? { text } : {}),
    ...(attachments.length ? { attachments } : {}),
    ...(mentions.length ? { mentions } : {}),
    addressedToBot: isDirect || mentionsBot || event.type === 'app_mention',
    platformMessageId: event.ts,
    ...(event.thread_ts && event.thread_ts !== event.ts ? { replyToMessageId: event.thread_ts } : {}),
  };
  return { event: inbound };
}

/**
 * An emoji added to or taken off a message (https://docs.slack.dev/reference/events/reaction_added/),
 * on the reacted message's conversation. Slack does not say whether that message is in a thread, so
 * the event goes to the channel's conversation. Keyed by the envelope's event_id, which Slack keeps
 * across retries; the bot's own reactions are its echo.
 */
function normalizeReaction(
  event: SlackMessageEvent,
  envelope: SlackEnvelope,
  identity: SlackIdentity,
  botUserId: string | undefined,
  base: Pick<InboundEvent, 'receivedAt' | 'raw' | 'channelData'>,
): Normalized {
  const item = event.item;
  if (item?.type !== undefined && item.type !== 'message') return ignore('reaction_not_on_message');
  if (!event.user || !event.reaction || !item?.channel || !item.ts) return ignore('malformed');
  if (botUserId !== undefined && event.user === botUserId) return ignore('own_echo');
  const added = event.type === 'reaction_added';
  const fallbackId = `reaction:${item.channel}:${item.ts}:${event.user}:${event.reaction}:${added ? 'added' : 'removed'}:${event.event_ts}`;
  return {
    event: {
      ...base,
      id: `${identity.channel}:${envelope.event_id ?? fallbackId}`,
      kind: 'reaction',
      ref: { channel: identity.channel, tenant: identity.tenant, conversation: item.channel },
      sender: { id: event.user },
      addressedToBot: event.item_user !== undefined && event.item_user === botUserId,
      reaction: { name: event.reaction, messageId: item.ts, added },
    },
  };
}

function readSlackAction(
  payload: SlackBlockActions,
  identity: SlackIdentity,
  receivedAt = new Date().toISOString(),
): Normalized {
  if (payload?.type !== 'block_actions') return ignore('unsupported_interaction');
  const action = payload.actions?.[0];
  const channelId = payload.channel?.id ?? payload.container?.channel_id;
  if (!action || !channelId || !payload.user?.id) return ignore('malformed');
  const thread = payload.container?.thread_ts ?? payload.message?.thread_ts;
  const value = action.value ?? action.selected_option?.value;
  return {
    event: {
      id: `${identity.channel}:action:${channelId}:${action.action_ts ?? payload.trigger_id}`,
      kind: 'action',
      ref: {
        channel: identity.channel,
        tenant: identity.tenant,
        conversation: channelId,
        ...(thread ? { thread } : {}),
      },
      sender: { id: payload.user.id, ...(payload.user.name ? { name: payload.user.name } : {}) },
      receivedAt,
      addressedToBot: true,
      platformMessageId: payload.container?.message_ts ?? payload.message?.ts,
      action: {
        id: value ?? action.action_id,
        title: action.text?.text ?? action.selected_option?.text?.text,
        value,
      },
      channelData: {
        slack: { team: payload.team?.id, actionId: action.action_id, blockId: action.block_id },
      },
      raw: payload,
    },
  };
}

function refOf(identity: SlackIdentity, channel: string, message: SlackMessageEvent): ConversationRef {
  const thread = message.thread_ts && message.thread_ts !== message.ts ? message.thread_ts : undefined;
  return {
    channel: identity.channel,
    tenant: identity.tenant,
    conversation: channel,
    ...(thread ? { thread } : {}),
  };
}

function readText(raw: string, botUserId: string | undefined) {
  const mentions: Mention[] = [];
  let mentionsBot = false;
  const stripped = raw.replace(/<@([UW][A-Z0-9]+)(?:\|[^>]*)?>/g, (whole, id: string) => {
    const isBot = id === botUserId;
    mentions.push({ id, text: whole, isBot });
    if (isBot) mentionsBot = true;
    return isBot ? '' : whole;
  });
  const text = unescapeSlack(mentionsBot ? tidyText(stripped) : stripped);
  return { text, mentions, mentionsBot };
}
