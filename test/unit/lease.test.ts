import { describe, expect, it } from 'vitest';
import { Lease } from '../../core/bus/lease';
import type { ConversationLock } from '../../core/types';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A lock whose renewals take `latencyMs` (a round trip) and fail once it is gone. */
function slowLock(latencyMs: number) {
  const lock = {
    held: true,
    extensions: 0,
    token: 1,
    async extend(): Promise<boolean> {
      const heldWhenAsked = lock.held;
      await sleep(latencyMs);
      lock.extensions++;
      return heldWhenAsked && lock.held;
    },
    async release(): Promise<void> {
      lock.held = false;
    },
  };
  return lock satisfies ConversationLock;
}

describe('the conversation lease', () => {
  it('aborts its signal when a renewal finds the lock gone mid-turn', async () => {
    const lock = slowLock(5);
    const lease = new Lease(lock, 60, 10);
    await sleep(30);
    lock.held = false; // taken over: the lease lapsed
    await sleep(60);
    expect(lease.lost).toBe(true);
    expect((lease.signal.reason as { code?: string }).code).toBe('bus.lock_lost');
    await lease.end({ release: false });
  });

  it('does not abort when the turn’s end lets the lock go while a renewal is on its way', async () => {
    // Renewals take longer than their interval, so one is always in flight when the turn ends.
    const lock = slowLock(25);
    const lease = new Lease(lock, 60, 10);
    await sleep(30);
    await lease.settle(
      async () => {
        await sleep(5);
        lock.held = false; // the turn-end script deleted the lock: the inbox was empty
        return { released: true };
      },
      (result) => result.released,
    );
    await sleep(80); // every renewal started before has come back, none starts after
    expect(lease.lost).toBe(false);
    const extensions = lock.extensions;
    await sleep(40);
    expect(lock.extensions).toBe(extensions);
    await lease.end({ release: false });
    expect(lease.lost).toBe(false);
  });

  it('keeps renewing when the turn’s end hands the lock on to the next event', async () => {
    const lock = slowLock(2);
    const lease = new Lease(lock, 60, 10);
    await lease.settle(
      async () => ({ next: true }),
      () => false,
    );
    const extensions = lock.extensions;
    await sleep(50);
    expect(lock.extensions).toBeGreaterThan(extensions);
    expect(lease.lost).toBe(false);
    await lease.end();
    expect(lock.held).toBe(false);
  });
});
