import { isOutage } from '../../core/resilience/outage';
import type { HubStore, OutboundFeed, OutboundMessage } from '../../core/types';

/**
 * Waits for the replies to an inbound event on the reply feed, never by polling the database: a
 * worker stores every reply of a turn before it publishes any, so the first notification for the
 * event means the store holds the whole turn. The store is read when the wait starts (the turn
 * may be done already), on each notification for the event, and once at the deadline. A lost
 * notification (the Redis feed is pub/sub) costs at most the wait: the caller gets 202 and the
 * event id, and reads the replies later.
 */
export class ReplyWaiter {
  private readonly waiting = new Map<string, Set<() => void>>();
  private unsubscribe?: () => Promise<void>;

  constructor(
    private readonly feed: OutboundFeed,
    private readonly store: HubStore,
  ) {}

  async start(): Promise<void> {
    this.unsubscribe = await this.feed.subscribe((message) => {
      if (!message.inReplyTo) return;
      for (const wake of this.waiting.get(message.inReplyTo) ?? []) wake();
    });
  }

  /**
   * Resolves with the stored replies, or an empty list when none came within `timeoutMs`. The event
   * is already on the bus: while the database is out, the caller gets the empty list (202 and the
   * event id to fetch the replies later), not an error for a message that was accepted.
   */
  async wait(eventId: string, timeoutMs: number): Promise<OutboundMessage[]> {
    let notified = false;
    let wake: () => void = () => {};
    // Listening before the first read: a reply published between the read and the listener is not missed.
    const onReply = () => {
      notified = true;
      wake();
    };
    const listeners = this.waiting.get(eventId) ?? new Set();
    listeners.add(onReply);
    this.waiting.set(eventId, listeners);
    const deadline = Date.now() + timeoutMs;
    try {
      for (;;) {
        notified = false;
        const replies = await this.storedReplies(eventId);
        if (replies.length > 0 || Date.now() >= deadline) return replies;
        if (notified) continue;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, deadline - Date.now());
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = () => {};
      }
    } finally {
      listeners.delete(onReply);
      if (listeners.size === 0 && this.waiting.get(eventId) === listeners) this.waiting.delete(eventId);
    }
  }

  private async storedReplies(eventId: string): Promise<OutboundMessage[]> {
    try {
      return await this.store.repliesTo(eventId);
    } catch (error) {
      if (isOutage(error)) return [];
      throw error;
    }
  }

  async stop(): Promise<void> {
    await this.unsubscribe?.();
  }
}
