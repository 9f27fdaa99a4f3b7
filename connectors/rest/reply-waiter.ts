import type { Logger } from 'pino';
import { errors } from '../../core/metrics';
import { isOutage } from '../../core/resilience/outage';
import type { HubStore, OutboundFeed, OutboundMessage, PublishResult } from '../../core/types';

/** How often a waiter that has heard nothing reads the store, in case the feed lost the notification. */
export const FALLBACK_READ_MS = 5_000;

/** What the feed brought for one event so far. */
interface Waiting {
  /** The turn's replies by id (a redelivered turn publishes them again). */
  replies: Map<string, OutboundMessage>;
  /** How many replies the turn stored, from the first feed message that said so. */
  count?: number;
  /** A reply came without its place in the turn (a worker of an older release): read the store. */
  unsized: boolean;
  wake: () => void;
}

/**
 * Waits for the replies to an inbound event on the reply feed, never by polling the database. Each
 * feed message carries the whole reply and its place among the turn's replies (`turnReplies`), and
 * a worker stores every reply of a turn before it publishes any: once the feed brought `count` of
 * them the answer is complete, without a read. The waiter listens before the event is published, so
 * a fresh event needs no read at all; a duplicate (a retried request) may have been answered
 * already and is read once. A lost notification (the Redis feed is pub/sub) is covered by a slow
 * fallback read every `fallbackReadMs` and one at the deadline; when nothing came by then the
 * caller gets 202 and the event id, and reads the replies later.
 */
export class ReplyWaiter {
  private readonly waiting = new Map<string, Set<Waiting>>();
  private unsubscribe?: () => Promise<void>;

  constructor(
    private readonly feed: OutboundFeed,
    private readonly store: HubStore,
    private readonly log: Pick<Logger, 'warn'>,
    private readonly fallbackReadMs = FALLBACK_READ_MS,
  ) {}

  async start(): Promise<void> {
    this.unsubscribe = await this.feed.subscribe((message) => {
      if (!message.inReplyTo) return;
      for (const waiting of this.waiting.get(message.inReplyTo) ?? []) {
        waiting.replies.set(message.id, message);
        if (message.turnReplies) waiting.count = message.turnReplies.count;
        else waiting.unsized = true;
        waiting.wake();
      }
    });
  }

  /**
   * Publishes the event with `accept` and resolves with its replies, or an empty list when none
   * came within `timeoutMs`. Once the event is on the bus, a database that is out (a pool timeout
   * included) gives the empty list (202 and the event id), never an error for an accepted message;
   * `accept`'s own failure (the bus is down: 503) is the caller's.
   */
  async wait(
    eventId: string,
    timeoutMs: number,
    accept: () => Promise<PublishResult>,
  ): Promise<OutboundMessage[]> {
    const waiting: Waiting = { replies: new Map(), unsized: false, wake: () => {} };
    // Listening before the event is published: a reply cannot come before the listener.
    const listeners = this.waiting.get(eventId) ?? new Set();
    listeners.add(waiting);
    this.waiting.set(eventId, listeners);
    try {
      const { accepted } = await accept();
      const deadline = Date.now() + timeoutMs;
      if (!accepted) {
        const stored = await this.storedReplies(eventId);
        if (stored.length > 0) return stored;
      }
      let nextRead = Date.now() + this.fallbackReadMs;
      for (;;) {
        const complete = fromFeed(waiting);
        if (complete) return complete;
        const now = Date.now();
        if (waiting.unsized || now >= nextRead || now >= deadline) {
          waiting.unsized = false;
          nextRead = now + this.fallbackReadMs;
          const stored = await this.storedReplies(eventId);
          if (stored.length > 0 || Date.now() >= deadline) return stored;
          continue;
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.min(nextRead, deadline) - now);
          waiting.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        waiting.wake = () => {};
      }
    } finally {
      listeners.delete(waiting);
      if (listeners.size === 0 && this.waiting.get(eventId) === listeners) this.waiting.delete(eventId);
    }
  }

  /**
   * The event is accepted: a read that fails (the pool timing out under load, or anything else) is
   * logged and answers "no replies yet" (202 and the event id), never an error for a message the
   * hub took.
   */
  private async storedReplies(eventId: string): Promise<OutboundMessage[]> {
    try {
      return await this.store.repliesTo(eventId);
    } catch (error) {
      errors.inc({ stage: 'rest_reply_read', code: isOutage(error) ? 'dependency.unavailable' : 'internal' });
      this.log.warn({ err: error, eventId }, 'REST replies could not be read; answering 202');
      return [];
    }
  }

  async stop(): Promise<void> {
    await this.unsubscribe?.();
  }
}

/** The turn's replies in their order, once the feed brought all of them; else undefined. */
function fromFeed(waiting: Waiting): OutboundMessage[] | undefined {
  const { count, replies } = waiting;
  if (count === undefined || replies.size < count) return undefined;
  const inTurn = [...replies.values()].filter((reply) => reply.turnReplies?.count === count);
  if (inTurn.length < count) return undefined;
  return inTurn
    .sort((a, b) => (a.turnReplies?.index ?? 0) - (b.turnReplies?.index ?? 0))
    .map(({ turnReplies: _place, ...reply }) => reply);
}
