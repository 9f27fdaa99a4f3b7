import { isOutage } from '../../core/resilience/outage';
import type { HubStore, OutboundFeed, OutboundMessage } from '../../core/types';

/**
 * Waits for the replies to an inbound event. The feed says "something was answered" quickly; the
 * store says what: a worker stores every reply of a turn before it publishes any, so the first feed
 * notification means the store holds the whole turn. Polling the store covers a lost notification
 * (the Redis feed is pub/sub, and a reply may come before the subscription does).
 */
export class ReplyWaiter {
  private readonly waiting = new Map<string, () => void>();
  private unsubscribe?: () => Promise<void>;

  constructor(
    private readonly feed: OutboundFeed,
    private readonly store: HubStore,
    private readonly pollMs = 250,
  ) {}

  async start(): Promise<void> {
    this.unsubscribe = await this.feed.subscribe((message) => {
      if (message.inReplyTo) this.waiting.get(message.inReplyTo)?.();
    });
  }

  /**
   * Resolves with the stored replies, or an empty list when none came within `timeoutMs`. The event
   * is already on the bus: while the database is out, the caller gets the empty list (202 and the
   * event id to fetch the replies later), not an error for a message that was accepted.
   */
  async wait(eventId: string, timeoutMs: number): Promise<OutboundMessage[]> {
    const deadline = Date.now() + timeoutMs;
    try {
      for (;;) {
        const replies = await this.storedReplies(eventId);
        if (replies.length > 0 || Date.now() >= deadline) return replies;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.min(this.pollMs, Math.max(0, deadline - Date.now())));
          this.waiting.set(eventId, () => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
    } finally {
      this.waiting.delete(eventId);
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
