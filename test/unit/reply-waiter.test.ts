import { describe, expect, it } from 'vitest';
import { ReplyWaiter } from '../../connectors/rest/reply-waiter';
import type { HubStore, OutboundFeed, OutboundMessage } from '../../core/types';

/** A feed in this process, and a store that counts how often the waiter reads it. */
function harness() {
  const listeners = new Set<(message: OutboundMessage) => void>();
  const feed: OutboundFeed = {
    async publish(message) {
      for (const listener of listeners) listener(message);
    },
    async subscribe(listener) {
      listeners.add(listener);
      return async () => void listeners.delete(listener);
    },
    async close() {},
  };
  const stored = new Map<string, OutboundMessage[]>();
  const reads = { count: 0 };
  const store = {
    async repliesTo(eventId: string) {
      reads.count += 1;
      return stored.get(eventId) ?? [];
    },
  } as unknown as HubStore;
  return { feed, stored, reads, waiter: new ReplyWaiter(feed, store) };
}

const replyTo = (eventId: string, id = 'r1'): OutboundMessage => ({
  id,
  ref: { channel: 'rest', tenant: 'acme', conversation: 'alice' },
  content: { type: 'text', text: 'hello' },
  inReplyTo: eventId,
  createdAt: new Date().toISOString(),
});

describe('REST reply waiter', () => {
  it('reads the store when the feed says the event was answered, not on a timer', async () => {
    const { feed, stored, reads, waiter } = harness();
    await waiter.start();
    const waiting = waiter.wait('e1', 10_000);
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    // A poll every 250 ms would have read about five times by now.
    expect(reads.count).toBe(1);
    await feed.publish(replyTo('other-event'));
    stored.set('e1', [replyTo('e1')]);
    await feed.publish(replyTo('e1'));
    expect((await waiting).map((message) => message.id)).toEqual(['r1']);
    expect(reads.count).toBe(2);
    await waiter.stop();
  });

  it('reads once more at the deadline, so a lost notification costs at most the wait', async () => {
    const { stored, reads, waiter } = harness();
    await waiter.start();
    const waiting = waiter.wait('e1', 300);
    stored.set('e1', [replyTo('e1')]);
    expect((await waiting).map((message) => message.id)).toEqual(['r1']);
    expect(reads.count).toBe(2);
    expect(await waiter.wait('nobody-answers', 100)).toEqual([]);
  });

  it('wakes every request waiting on the same event', async () => {
    const { feed, stored, waiter } = harness();
    await waiter.start();
    const first = waiter.wait('e1', 10_000);
    const retry = waiter.wait('e1', 10_000);
    await new Promise((resolve) => setTimeout(resolve, 50));
    stored.set('e1', [replyTo('e1')]);
    await feed.publish(replyTo('e1'));
    expect((await Promise.all([first, retry])).map((replies) => replies.length)).toEqual([1, 1]);
  });
});
