import { describe, expect, it } from 'vitest';
import { ReplyWaiter } from '../../connectors/rest/reply-waiter';
import { logger } from '../../core/log';
import type { HubStore, OutboundFeed, OutboundMessage } from '../../core/types';

/** A feed in this process that can lose messages, and a store that counts how often the waiter reads it. */
function harness(fallbackReadMs = 5_000) {
  const listeners = new Set<(message: OutboundMessage) => void>();
  const lose = { on: false };
  const feed: OutboundFeed = {
    async publish(message) {
      if (lose.on) return;
      for (const listener of listeners) listener(JSON.parse(JSON.stringify(message)));
    },
    async subscribe(listener) {
      listeners.add(listener);
      return async () => void listeners.delete(listener);
    },
    async close() {},
  };
  const stored = new Map<string, OutboundMessage[]>();
  const reads = { count: 0, fail: undefined as Error | undefined };
  const store = {
    async repliesTo(eventId: string) {
      reads.count += 1;
      if (reads.fail) throw reads.fail;
      return stored.get(eventId) ?? [];
    },
  } as unknown as HubStore;
  /** What a worker does: store every reply of the turn, then publish each with its place. */
  const answer = async (eventId: string, ...texts: string[]) => {
    const replies = texts.map((text, index) => replyTo(eventId, `${eventId}#${index}`, text));
    stored.set(eventId, replies);
    for (const [index, reply] of replies.entries()) {
      await feed.publish({ ...reply, turnReplies: { index, count: replies.length } });
    }
  };
  return { feed, stored, reads, lose, answer, waiter: new ReplyWaiter(feed, store, logger, fallbackReadMs) };
}

const replyTo = (eventId: string, id = 'r1', text = 'hello'): OutboundMessage => ({
  id,
  ref: { channel: 'rest', tenant: 'acme', conversation: 'alice' },
  content: { type: 'text', text },
  inReplyTo: eventId,
  createdAt: new Date().toISOString(),
});

const fresh = async () => ({ accepted: true });
const duplicate = async () => ({ accepted: false });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('REST reply waiter', () => {
  it("takes a fresh event's replies from the feed, in order, without reading the store", async () => {
    const { answer, reads, waiter } = harness();
    await waiter.start();
    const waiting = waiter.wait('e1', 10_000, fresh);
    await sleep(200);
    await answer('other-event', 'not yours');
    await answer('e1', 'first', 'second');
    const replies = await waiting;
    expect(replies.map((m) => [m.id, m.content.type === 'text' && m.content.text])).toEqual([
      ['e1#0', 'first'],
      ['e1#1', 'second'],
    ]);
    // The feed's bookkeeping does not reach the caller.
    expect(replies.every((m) => m.turnReplies === undefined)).toBe(true);
    expect(reads.count).toBe(0);
    await waiter.stop();
  });

  it('listens before publishing: a turn answered while accept() is still running is not missed', async () => {
    const { answer, reads, waiter } = harness();
    await waiter.start();
    const replies = await waiter.wait('e1', 10_000, async () => {
      await answer('e1', 'quick');
      return { accepted: true };
    });
    expect(replies.map((m) => m.id)).toEqual(['e1#0']);
    expect(reads.count).toBe(0);
  });

  it('waits for every reply of the turn before answering', async () => {
    const { feed, reads, waiter } = harness();
    await waiter.start();
    const waiting = waiter.wait('e1', 10_000, fresh);
    let done = false;
    void waiting.then(() => {
      done = true;
    });
    await feed.publish({ ...replyTo('e1', 'e1#0'), turnReplies: { index: 0, count: 2 } });
    await sleep(50);
    expect(done).toBe(false);
    await feed.publish({ ...replyTo('e1', 'e1#1'), turnReplies: { index: 1, count: 2 } });
    expect((await waiting).map((m) => m.id)).toEqual(['e1#0', 'e1#1']);
    expect(reads.count).toBe(0);
  });

  it('reads the store once for a duplicate, which may have been answered before', async () => {
    const { stored, reads, waiter } = harness();
    await waiter.start();
    stored.set('e1', [replyTo('e1')]);
    expect((await waiter.wait('e1', 10_000, duplicate)).map((m) => m.id)).toEqual(['r1']);
    expect(reads.count).toBe(1);
  });

  it('answers from a slow fallback read when the feed lost the notification', async () => {
    const { answer, lose, reads, waiter } = harness(300);
    await waiter.start();
    const started = Date.now();
    const waiting = waiter.wait('e1', 10_000, fresh);
    lose.on = true;
    await answer('e1', 'lost on the feed');
    expect((await waiting).map((m) => m.id)).toEqual(['e1#0']);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(reads.count).toBe(1);
  });

  it('reads at most once per fallback period while nothing comes, and once at the deadline', async () => {
    const { reads, waiter } = harness(400);
    await waiter.start();
    expect(await waiter.wait('nobody-answers', 1_000, fresh)).toEqual([]);
    // At 400 and 800 ms, then at the deadline: a 250 ms poll would have read four times.
    expect(reads.count).toBe(3);
  });

  it('answers "no replies yet" (202), not an error, when the read meets a pool timeout', async () => {
    const { reads, waiter } = harness(100);
    await waiter.start();
    reads.fail = new Error('timeout exceeded when trying to connect');
    expect(await waiter.wait('e1', 250, fresh)).toEqual([]);
    expect(await waiter.wait('e2', 100, duplicate)).toEqual([]);
  });

  it("lets accept()'s own failure through: the event was not taken", async () => {
    const { waiter } = harness();
    await waiter.start();
    const refused = waiter.wait('e1', 1_000, async () => {
      throw new Error('bus down');
    });
    await expect(refused).rejects.toThrow('bus down');
  });

  it('reads the store when a reply comes without its place in the turn (an older worker)', async () => {
    const { feed, stored, reads, waiter } = harness();
    await waiter.start();
    const waiting = waiter.wait('e1', 10_000, fresh);
    stored.set('e1', [replyTo('e1', 'a'), replyTo('e1', 'b')]);
    await feed.publish(replyTo('e1', 'a'));
    expect((await waiting).map((m) => m.id)).toEqual(['a', 'b']);
    expect(reads.count).toBe(1);
  });

  it('wakes every request waiting on the same event', async () => {
    const { answer, waiter } = harness();
    await waiter.start();
    const first = waiter.wait('e1', 10_000, fresh);
    const retry = waiter.wait('e1', 10_000, duplicate);
    await sleep(50);
    await answer('e1', 'once');
    expect((await Promise.all([first, retry])).map((replies) => replies.length)).toEqual([1, 1]);
  });
});
