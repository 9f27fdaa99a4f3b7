import type { ConversationRef, InboundEvent, OutboundMessage, TranscriptEntry } from '../../core/types';
import type { ClientFrame, HistoryEntry } from './protocol';

const LOCALE_PATTERN = /^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$/;

/**
 * The event id joins channel, session and the client's message id, so a browser resending an
 * unacknowledged message after a reconnect is dropped by the bus's dedupe instead of answered twice.
 */
export function toInboundEvent(
  frame: ClientFrame,
  ref: ConversationRef,
  fallbackLocale: string | undefined,
  now: Date = new Date(),
): InboundEvent {
  const base = {
    id: `${ref.channel}:${ref.conversation}:${frame.id}`,
    ref,
    sender: { id: ref.conversation },
    receivedAt: now.toISOString(),
    addressedToBot: true,
    platformMessageId: frame.id,
    raw: frame,
  };
  const locale = frame.locale ?? fallbackLocale;
  const withLocale = locale ? { locale } : {};
  if (frame.type === 'message') return { ...base, ...withLocale, kind: 'message', text: frame.text };
  return {
    ...base,
    ...withLocale,
    kind: 'action',
    action: { id: frame.actionId, ...(frame.title ? { title: frame.title } : {}) },
  };
}

/** First language of an Accept-Language header: the browser's language when a frame carries none. */
export function preferredLocale(header: string | undefined): string | undefined {
  const first = header?.split(',')[0]?.split(';')[0]?.trim();
  return first && LOCALE_PATTERN.test(first) ? first : undefined;
}

/** What a reconnecting browser needs from the transcript: oldest first, no raw payloads. */
export function toHistory(entries: TranscriptEntry[]): HistoryEntry[] {
  // Numeric compare: a store may hand back timestamps in another ISO form than the one it was given.
  const time = (entry: TranscriptEntry) => Date.parse(String(entry.at)) || 0;
  const ordered = [...entries].sort((a, b) => time(a) - time(b));
  const history: HistoryEntry[] = [];
  for (const entry of ordered) {
    if (entry.direction === 'out') {
      const message = entry.payload as OutboundMessage;
      if (message.content?.type === 'typing') continue;
      history.push({ direction: 'out', id: entry.id, at: entry.at, message });
      continue;
    }
    const event = entry.payload as InboundEvent;
    history.push({
      direction: 'in',
      id: entry.id,
      clientId: event.platformMessageId ?? entry.id,
      text: entry.text || event.action?.title || event.text || '',
      at: entry.at,
    });
  }
  return history;
}
