import type { AtRest } from '../privacy/at-rest';
import type { TranscriptEntry } from '../types';
import { conversationKey } from '../types/conversation';
import { HubError } from '../types/errors';
import type { InboundEvent } from '../types/events';
import { type OutboundMessage, renderAsText } from '../types/outbound';
import type { MessageRow, NewMessage } from './schema';

/**
 * PostgreSQL refuses NUL in text and jsonb, and lone UTF-16 surrogates in jsonb. Customers can
 * type both, and one bad character must not turn a whole event into a dead letter, so each
 * becomes U+FFFD on the way in.
 */
export function cleanText(text: string): string {
  return text.replaceAll('\u0000', '\uFFFD').replace(LONE_SURROGATE, '\uFFFD');
}

// `String#toWellFormed` would do this, but it is ES2024 and the project targets ES2023.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

export function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, item) => (typeof item === 'string' ? cleanText(item) : item));
}

/** Normalize to ISO-8601 UTC; a malformed time is a bug upstream, reported before it reaches SQL. */
export function isoTime(value: string, field: string): string {
  const time = new Date(value);
  if (Number.isNaN(time.getTime())) {
    throw new HubError('store.invalid_time', `${field} is not an ISO-8601 time: ${JSON.stringify(value)}`, {
      status: 400,
    });
  }
  return time.toISOString();
}

/** What a human reads in the transcript when the event carries no text of its own. */
export function inboundText(event: InboundEvent): string {
  if (event.text) return event.text;
  if (event.action) {
    // A card submit's value is an object: its title, a plain value, or the action's id reads better.
    const { title, value, id } = event.action;
    if (title) return title;
    return typeof value === 'string' || typeof value === 'number' ? String(value) : `[action ${id}]`;
  }
  const attachments = (event.attachments ?? []).map((a) =>
    [`[${a.kind}]`, a.caption ?? a.name ?? a.location?.name].filter(Boolean).join(' '),
  );
  if (attachments.length > 0) return attachments.join('\n');
  if (event.reaction) return `[reaction ${event.reaction.added ? '+' : '-'}${event.reaction.name}]`;
  if (event.membership) return `[${event.membership.change}: ${event.membership.memberIds.join(', ')}]`;
  if (event.status) return `[${event.status.state}]`;
  return '';
}

/** What `user_id` of channel_identities holds: the platform user id's keyed hash. */
export function userLookup(atRest: AtRest, userId: string): string {
  return atRest.lookup('user', userId);
}

/** What `conversations.key`, `messages.conversation_key` and `ticket_requests.conversation_key` hold. */
export function conversationLookup(atRest: AtRest, key: string): string {
  return atRest.lookup('conversation', key);
}

const messageText = (id: string) => ({ table: 'messages', column: 'text', row: id });
const messagePayload = (id: string) => ({ table: 'messages', column: 'payload', row: id });

export function inboundRow(atRest: AtRest, event: InboundEvent, customerId: string | undefined): NewMessage {
  return {
    id: event.id,
    conversation_key: conversationLookup(atRest, conversationKey(event.ref)),
    direction: 'in',
    kind: event.kind,
    text: atRest.seal(cleanText(inboundText(event)), messageText(event.id)),
    // The platform's replyToMessageId stays in the payload: this column only links replies to hub events.
    in_reply_to: null,
    customer_id: customerId ?? null,
    locale: event.locale ?? null,
    source: null,
    payload: atRest.sealJson(toJson(event), messagePayload(event.id)),
    created_at: isoTime(event.receivedAt, `event ${event.id} receivedAt`),
  };
}

export function outboundRow(atRest: AtRest, message: OutboundMessage): NewMessage {
  return {
    id: message.id,
    conversation_key: conversationLookup(atRest, conversationKey(message.ref)),
    direction: 'out',
    kind: message.content.type,
    text: atRest.seal(cleanText(renderAsText(message.content)), messageText(message.id)),
    in_reply_to: message.inReplyTo ?? null,
    customer_id: null,
    locale: message.locale ?? null,
    source: message.source ?? null,
    payload: atRest.sealJson(toJson(message), messagePayload(message.id)),
    created_at: isoTime(message.createdAt, `message ${message.id} createdAt`),
  };
}

export type TranscriptRow = Pick<
  MessageRow,
  'id' | 'conversation_key' | 'direction' | 'text' | 'created_at' | 'in_reply_to' | 'payload'
>;

/** A message's text in clear (old rows were stored in clear and read as they are). */
export function openMessageText(atRest: AtRest, row: Pick<MessageRow, 'id' | 'text'>): string {
  return atRest.open(row.text, messageText(row.id));
}

export function openMessagePayload(
  atRest: AtRest,
  row: Pick<MessageRow, 'id' | 'payload'>,
): InboundEvent | OutboundMessage {
  return atRest.openJson(row.payload, messagePayload(row.id));
}

/** `conversationKey`: the key in clear, which the row holds only as a hash. */
export function toTranscriptEntry(
  atRest: AtRest,
  row: TranscriptRow,
  conversationKey: string,
): TranscriptEntry {
  const entry: TranscriptEntry = {
    id: row.id,
    conversationKey,
    direction: row.direction,
    text: openMessageText(atRest, row),
    at: row.created_at.toISOString(),
    payload: openMessagePayload(atRest, row),
  };
  if (row.in_reply_to !== null) entry.inReplyTo = row.in_reply_to;
  return entry;
}
