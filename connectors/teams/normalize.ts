import { createHash } from 'node:crypto';
import type { Attachment, AttachmentKind, ConversationRef, InboundEvent, Mention } from '../../core/types';
import { guardNormalize, ignore, type Normalized, tidyText } from '../shared/normalized';
import { teamsFileId } from './files';
import type { Activity, TeamsAttachment } from './wire';

export interface TeamsIdentity {
  channel: string;
  tenant: string;
  /** The bot's Microsoft App ID; its Teams account id is `28:<appId>`. */
  appId: string;
}

/** What `deliver()` needs to reach a conversation, kept in every event's `channelData.teams`. */
export interface TeamsConversationData {
  serviceUrl: string;
  /** The full Bot Framework conversation id, `;messageid=` thread suffix included. */
  conversationId: string;
  conversationType?: string;
  tenantId?: string;
  teamId?: string;
  teamsChannelId?: string;
  botId?: string;
  activityId?: string;
  activityType: string;
  aadObjectId?: string;
  installation?: string;
  eventType?: string;
}

const THREAD_SUFFIX = /;messageid=([^;]+)$/;

/** `19:…@thread.tacv2;messageid=123` is a reply thread of channel `19:…@thread.tacv2`. */
export function splitConversationId(id: string): { conversation: string; thread?: string } {
  const match = THREAD_SUFFIX.exec(id);
  return match?.[1] ? { conversation: id.slice(0, match.index), thread: match[1] } : { conversation: id };
}

/** The inverse of {@link splitConversationId}: the conversation id to post a reply into. */
export function conversationIdOf(ref: Pick<ConversationRef, 'conversation' | 'thread'>): string {
  return ref.thread ? `${ref.conversation};messageid=${ref.thread}` : ref.conversation;
}

export function tenantOf(activity: Activity): string | undefined {
  const tenant = activity.channelData?.tenant?.id ?? activity.conversation?.tenantId;
  return typeof tenant === 'string' ? tenant : undefined;
}

/**
 * One Bot Framework activity from Teams into one InboundEvent, or why not. Events are keyed by
 * conversation id + activity id, so the Bot Connector's retries of one activity are one event. A
 * field of the wrong type is an ignored update or a HubError 400, never a TypeError.
 */
export const normalizeTeamsActivity = guardNormalize('teams', readTeamsActivity);

function readTeamsActivity(
  activity: Activity,
  identity: TeamsIdentity,
  receivedAt = new Date().toISOString(),
): Normalized {
  const conversationId = activity?.conversation?.id;
  if (
    typeof activity?.type !== 'string' ||
    typeof conversationId !== 'string' ||
    typeof activity.serviceUrl !== 'string' ||
    typeof activity.from?.id !== 'string' ||
    !activity.from.id
  ) {
    return ignore('malformed');
  }
  const botId = activity.recipient?.id ?? `28:${identity.appId}`;
  const isBot = (id: string | undefined) => id === botId || id === `28:${identity.appId}`;
  const { conversation, thread } = splitConversationId(conversationId);
  const ref: ConversationRef = {
    channel: identity.channel,
    tenant: identity.tenant,
    conversation,
    ...(thread ? { thread } : {}),
  };
  const data: TeamsConversationData = {
    serviceUrl: activity.serviceUrl,
    conversationId,
    activityType: activity.type,
    ...optional('conversationType', activity.conversation?.conversationType),
    ...optional('tenantId', tenantOf(activity)),
    ...optional('teamId', activity.channelData?.team?.id),
    ...optional(
      'teamsChannelId',
      activity.channelData?.channel?.id ?? activity.channelData?.settings?.selectedChannel?.id,
    ),
    botId,
    ...optional('activityId', activity.id),
    ...optional('aadObjectId', activity.from.aadObjectId),
    ...optional('eventType', activity.channelData?.eventType),
  };
  const key = activity.id ?? digest(activity);
  const base = {
    id: `${identity.channel}:${conversationId}:${key}`,
    ref,
    receivedAt,
    sender: {
      id: activity.from.id,
      ...(activity.from.name ? { name: activity.from.name } : {}),
      ...(isBot(activity.from.id) ? { isBot: true } : {}),
    },
    ...(activity.locale ? { locale: activity.locale } : {}),
    ...(activity.id ? { platformMessageId: activity.id } : {}),
    channelData: { teams: data },
    raw: activity,
  };
  const personal = activity.conversation?.conversationType === 'personal';

  switch (activity.type) {
    case 'message': {
      if (isBot(activity.from.id)) return ignore('own_echo');
      const { text, mentions, mentionsBot } = readText(activity, botId);
      if (isRecord(activity.value)) {
        // Action.Submit / messageBack: the card's data comes back as `value`, the shown words as text.
        const { msteams: _display, ...value } = activity.value;
        return {
          event: {
            ...base,
            kind: 'action',
            addressedToBot: true,
            action: { id: actionIdOf(value), ...(text ? { title: text } : {}), value },
            ...(activity.replyToId ? { replyToMessageId: activity.replyToId } : {}),
          },
        };
      }
      const attachments = arrayOf(activity.attachments)
        .filter(isRecord)
        .flatMap((attachment) => toAttachment(attachment as TeamsAttachment));
      if (!text && attachments.length === 0) return ignore('empty_message');
      const event: InboundEvent = {
        ...base,
        kind: 'message',
        ...(text ? { text } : {}),
        ...(attachments.length ? { attachments } : {}),
        ...(mentions.length ? { mentions } : {}),
        addressedToBot: personal || mentionsBot,
        ...(activity.replyToId ? { replyToMessageId: activity.replyToId } : {}),
      };
      return { event };
    }
    case 'messageUpdate': {
      if (isBot(activity.from.id)) return ignore('own_echo');
      const eventType = activity.channelData?.eventType;
      if (eventType && eventType !== 'editMessage') return ignore(`update_${eventType}`);
      const { text, mentions } = readText(activity, botId);
      return {
        event: {
          ...base,
          id: `${base.id}:edit:${activity.timestamp ?? digest(activity)}`,
          kind: 'edit',
          ...(text ? { text } : {}),
          ...(mentions.length ? { mentions } : {}),
          addressedToBot: false,
        },
      };
    }
    case 'messageDelete':
      return ignore('deleted');
    case 'conversationUpdate': {
      const idsOf = (members: unknown) =>
        arrayOf(members)
          .map((m) => (isRecord(m) ? m.id : undefined))
          .filter((id): id is string => typeof id === 'string' && id !== '');
      const added = idsOf(activity.membersAdded);
      const removed = idsOf(activity.membersRemoved);
      const memberIds = added.length > 0 ? added : removed;
      if (memberIds.length === 0)
        return ignore(`conversation_${activity.channelData?.eventType ?? 'update'}`);
      return {
        event: {
          ...base,
          kind: 'membership',
          membership: {
            change: added.length > 0 ? 'joined' : 'left',
            memberIds,
            botIncluded: memberIds.some(isBot),
          },
        },
      };
    }
    case 'installationUpdate': {
      const action = activity.action ?? '';
      if (!/^(add|remove)(-upgrade)?$/.test(action)) return ignore('installation_unknown');
      return {
        event: {
          ...base,
          kind: 'membership',
          membership: {
            change: action.startsWith('add') ? 'joined' : 'left',
            memberIds: [botId],
            botIncluded: true,
          },
          channelData: { teams: { ...data, installation: action } },
        },
      };
    }
    case 'messageReaction': {
      const typeOf = (reactions: unknown) => {
        const first = arrayOf(reactions)[0];
        return isRecord(first) && typeof first.type === 'string' && first.type ? first.type : undefined;
      };
      const added = typeOf(activity.reactionsAdded);
      const removed = typeOf(activity.reactionsRemoved);
      const name = added ?? removed;
      const messageId = activity.replyToId ?? activity.id;
      if (!name || typeof messageId !== 'string' || !messageId) return ignore('malformed');
      return {
        event: { ...base, kind: 'reaction', reaction: { name, messageId, added: added !== undefined } },
      };
    }
    case 'invoke': {
      if (activity.name !== 'adaptiveCard/action') return ignore(`invoke_${activity.name ?? 'unnamed'}`);
      const action = isRecord(activity.value) && isRecord(activity.value.action) ? activity.value.action : {};
      const verb = typeof action.verb === 'string' ? action.verb : undefined;
      const value = isRecord(action.data) ? action.data : {};
      return {
        event: {
          ...base,
          kind: 'action',
          addressedToBot: true,
          action: {
            id: typeof value.hubAction === 'string' ? value.hubAction : (verb ?? actionIdOf(value)),
            ...(typeof action.title === 'string' ? { title: action.title } : {}),
            value: { ...(verb ? { verb } : {}), ...value },
          },
          ...(activity.replyToId ? { replyToMessageId: activity.replyToId } : {}),
        },
      };
    }
    default:
      return ignore(`unsupported_${activity.type}`);
  }
}

/** What a button's data calls itself: the hub's own `hubAction`, else a conventional id field. */
function actionIdOf(value: Record<string, unknown>): string {
  for (const key of ['hubAction', 'id', 'action', 'verb']) {
    const candidate = value[key];
    if (typeof candidate === 'string' && candidate) return candidate;
  }
  return 'submit';
}

/**
 * Text with the bot's `<at>…</at>` mention removed and other mentions kept as `@Name`. Teams sends
 * `text` as plain text with `<at>` tags and, for channel posts, a `text/html` twin attachment.
 */
function readText(activity: Activity, botId: string) {
  const mentions: Mention[] = [];
  let mentionsBot = false;
  let text = typeof activity.text === 'string' ? activity.text : '';
  for (const entity of arrayOf(activity.entities)) {
    if (!isRecord(entity) || entity.type !== 'mention') continue;
    const mentioned = entity.mentioned;
    if (!isRecord(mentioned) || typeof mentioned.id !== 'string' || !mentioned.id) continue;
    const isBot = mentioned.id === botId;
    const entityText = typeof entity.text === 'string' ? entity.text : undefined;
    mentions.push({ id: mentioned.id, ...(entityText ? { text: entityText } : {}), isBot });
    if (isBot) mentionsBot = true;
    // The entity's text is the `<at>` markup as it stands in the message; where the message says
    // it otherwise (another client's rendering), nothing is replaced and the words stay as written.
    if (entityText) {
      const name = entityText.replace(/<\/?at>/g, '');
      text = text.split(entityText).join(isBot ? '' : `@${name}`);
    }
  }
  // A mention whose entity text is not what the message shows (a renamed account, another
  // client's markup) is left in the text as `<at>Name</at>`: the words keep the name, not the markup.
  text = text.replace(/<at>([^<]*)<\/at>/g, '@$1').replace(/&nbsp;/g, ' ');
  return { text: mentionsBot ? tidyText(text) : text.trim() === '' ? '' : text, mentions, mentionsBot };
}

const FILE_DOWNLOAD_INFO = 'application/vnd.microsoft.teams.file.download.info';

function toAttachment(attachment: TeamsAttachment): Attachment[] {
  const type = typeof attachment.contentType === 'string' ? attachment.contentType : '';
  if (type === FILE_DOWNLOAD_INFO && isRecord(attachment.content)) {
    const downloadUrl = attachment.content.downloadUrl;
    if (typeof downloadUrl !== 'string') return [];
    return [
      {
        kind: 'file',
        fileId: teamsFileId(downloadUrl),
        url: downloadUrl,
        ...(attachment.name ? { name: attachment.name } : {}),
      },
    ];
  }
  // The text/html twin of a message, cards and other rich content carry no file to fetch.
  if (typeof attachment.contentUrl !== 'string' || !attachment.contentUrl) return [];
  const kind: AttachmentKind = type.startsWith('image/')
    ? 'image'
    : type.startsWith('video/')
      ? 'video'
      : type.startsWith('audio/')
        ? 'audio'
        : 'file';
  return [
    {
      kind,
      // Inline images are fetched from contentUrl with the bot's Bot Connector token.
      fileId: teamsFileId(attachment.contentUrl),
      url: attachment.contentUrl,
      ...(type && type !== 'image/*' ? { mimeType: type } : {}),
      ...(attachment.name ? { name: attachment.name } : {}),
    },
  ];
}

function optional<K extends string>(key: K, value: string | undefined): Partial<Record<K, string>> {
  return value ? ({ [key]: value } as Record<K, string>) : {};
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function digest(activity: Activity): string {
  return createHash('sha256').update(JSON.stringify(activity)).digest('hex').slice(0, 32);
}

/** A list field as an array, whatever the payload put there. */
function arrayOf(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}
