import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../core/config/load';
import { AtRest } from '../../core/privacy/at-rest';
import { resolveDataKeys } from '../../core/privacy/data-keys';
import { createLockManager, createStateStore, RedisStateStore } from '../../core/state';
import type { DialogState, LockManager, StateStore } from '../../core/types';
import { HubError } from '../../core/types/errors';
import {
  REDIS_CLUSTER_SKIP_REASON,
  redisClusterAvailable,
  startRedisCluster,
  type TestCluster,
} from '../support/redis-cluster';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const TTL_MS = 300;

let admin: Redis;
beforeAll(() => {
  admin = new Redis(REDIS_URL);
});
afterAll(async () => {
  await admin.quit();
  await cluster?.stop();
});

/** One Redis Cluster for the file, started by the suite that needs it. */
let cluster: TestCluster | undefined;

async function deleteKeys(pattern: string): Promise<void> {
  const keys = await admin.keys(pattern);
  if (keys.length > 0) await admin.del(...keys);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function dialogState(conversationKey: string, text: string): DialogState {
  return {
    conversationKey,
    slots: { orderId: 'A-1' },
    history: [{ role: 'user', text, at: new Date().toISOString() }],
    handoff: 'bot',
    handledEventIds: [],
    updatedAt: new Date().toISOString(),
  };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

const drivers = ['memory', 'redis', ...(redisClusterAvailable ? (['redis-cluster'] as const) : [])] as const;

describe.skipIf(redisClusterAvailable)('StateStore and LockManager conformance: redis-cluster', () => {
  it.skip(REDIS_CLUSTER_SKIP_REASON, () => {});
});

describe.each(drivers)('StateStore and LockManager conformance: %s', (driver) => {
  const keyPrefix = `test-state-${randomUUID()}`;
  let store: StateStore;
  let locks: LockManager;
  const opened: Array<{ close(): Promise<void> }> = [];

  beforeAll(async () => {
    if (driver === 'redis-cluster') cluster ??= await startRedisCluster();
  }, 60_000);

  async function open() {
    const redis =
      driver === 'redis-cluster' ? { cluster: { nodes: cluster?.nodes ?? [] } } : { url: REDIS_URL };
    const state = { driver: driver === 'memory' ? 'memory' : 'redis', ttlHours: TTL_MS / 3_600_000 };
    const config = parseConfig({ redis, state });
    store = await createStateStore(config, { keyPrefix });
    locks = await createLockManager(config, { keyPrefix });
    opened.push(store, locks);
  }

  afterEach(async () => {
    await Promise.all(opened.splice(0).map((part) => part.close()));
    if (driver === 'redis-cluster') await cluster?.deleteKeys(keyPrefix);
    else await deleteKeys(`${keyPrefix}:*`);
  });

  it('loads what was saved, and nothing after delete', async () => {
    await open();
    const key = `conv-${randomUUID()}`;
    expect(await store.load(key)).toBeUndefined();
    const state = dialogState(key, '你好, where is my order?');
    await store.save(state);
    expect(await store.load(key)).toEqual(state);
    await store.delete(key);
    expect(await store.load(key)).toBeUndefined();
  });

  it('returns a copy, not the stored object', async () => {
    await open();
    const key = `conv-${randomUUID()}`;
    await store.save(dialogState(key, 'hi'));
    const loaded = await store.load(key);
    loaded?.history.push({ role: 'assistant', text: 'changed', at: '' });
    expect((await store.load(key))?.history).toHaveLength(1);
  });

  it('expires state after the TTL', async () => {
    await open();
    const key = `conv-${randomUUID()}`;
    await store.save(dialogState(key, 'hi'));
    await sleep(TTL_MS / 2);
    await store.save(dialogState(key, 'again'));
    await sleep(TTL_MS / 2 + 50);
    expect((await store.load(key))?.history[0]?.text).toBe('again');
    await sleep(TTL_MS);
    expect(await store.load(key)).toBeUndefined();
  });

  it('refuses a save with a lower fencing token than one already written', async () => {
    await open();
    const key = `conv-${randomUUID()}`;
    await store.save(dialogState(key, 'newer'), { fencingToken: 5 });
    await store.save(dialogState(key, 'same holder again'), { fencingToken: 5 });
    const error = await rejection(store.save(dialogState(key, 'stale'), { fencingToken: 3 }));
    expect(error).toBeInstanceOf(HubError);
    expect(error).toMatchObject({ code: 'state.fenced', retryable: false });
    expect((await store.load(key))?.history[0]?.text).toBe('same holder again');
    await store.save(dialogState(key, 'newest'), { fencingToken: 6 });
    expect((await store.load(key))?.history[0]?.text).toBe('newest');
  });

  it('keeps refusing a stale writer after the conversation is deleted', async () => {
    await open();
    const key = `conv-${randomUUID()}`;
    await store.save(dialogState(key, 'newer'), { fencingToken: 10 });
    await store.delete(key);
    await expect(store.save(dialogState(key, 'stale'), { fencingToken: 9 })).rejects.toMatchObject({
      code: 'state.fenced',
    });
    expect(await store.load(key)).toBeUndefined();
  });

  it('gives a lock to one holder at a time', async () => {
    await open();
    const key = `conv-${randomUUID()}`;
    const attempts = await Promise.all([1, 2, 3, 4, 5].map(() => locks.tryAcquire(key, 5_000)));
    expect(attempts.filter(Boolean)).toHaveLength(1);
    expect(await locks.tryAcquire(key, 5_000)).toBeUndefined();
  });

  it('lets a released lock be taken again, with a higher token', async () => {
    await open();
    const key = `conv-${randomUUID()}`;
    const first = await locks.tryAcquire(key, 5_000);
    expect(first?.token).toBeGreaterThan(0);
    await first?.release();
    const second = await locks.tryAcquire(key, 5_000);
    expect(second?.token).toBeGreaterThan(first?.token ?? Number.POSITIVE_INFINITY);
  });

  it('extends a lease only for its owner', async () => {
    await open();
    const key = `conv-${randomUUID()}`;
    const lock = await locks.tryAcquire(key, 150);
    expect(await lock?.extend(2_000)).toBe(true);
    await sleep(250);
    expect(await locks.tryAcquire(key, 1_000)).toBeUndefined();
  });

  it('hands an expired lock to another holder with a higher token; the old one cannot touch it', async () => {
    await open();
    const key = `conv-${randomUUID()}`;
    const stale = await locks.tryAcquire(key, 100);
    await sleep(150);
    const fresh = await locks.tryAcquire(key, 5_000);
    expect(fresh).toBeDefined();
    expect(fresh?.token).toBeGreaterThan(stale?.token ?? Number.POSITIVE_INFINITY);
    expect(await stale?.extend(5_000)).toBe(false);
    await stale?.release();
    expect(await locks.tryAcquire(key, 5_000)).toBeUndefined();
  });

  it('keeps the newer state when two workers save concurrently', async () => {
    await open();
    const key = `conv-${randomUUID()}`;
    const stalled = await locks.tryAcquire(key, 100);
    await sleep(150);
    const current = await locks.tryAcquire(key, 5_000);
    if (!stalled || !current) throw new Error('both workers should have held the lock in turn');
    for (let round = 0; round < 10; round++) {
      const saves = [
        store.save(dialogState(key, `current ${round}`), { fencingToken: current.token }),
        store.save(dialogState(key, `stalled ${round}`), { fencingToken: stalled.token }),
      ];
      if (round % 2 === 1) saves.reverse();
      const results = await Promise.allSettled(saves);
      const refused = results.filter((result) => result.status === 'rejected');
      expect(refused).toHaveLength(1);
      expect((refused[0] as PromiseRejectedResult).reason).toMatchObject({ code: 'state.fenced' });
      expect((await store.load(key))?.history[0]?.text).toBe(`current ${round}`);
    }
  });
});

describe('RedisStateStore specifics', () => {
  it('sets the TTL on the Redis key', async () => {
    const keyPrefix = `test-state-${randomUUID()}`;
    const config = parseConfig({ redis: { url: REDIS_URL }, state: { driver: 'redis', ttlHours: 2 } });
    const store = await createStateStore(config, { keyPrefix });
    try {
      await store.save(dialogState('c1', 'hi'));
      const ttl = await admin.pttl((store as RedisStateStore).stateKey('c1'));
      expect(ttl).toBeGreaterThan(2 * 3_600_000 - 5_000);
      expect(ttl).toBeLessThanOrEqual(2 * 3_600_000);
    } finally {
      await store.close();
      await deleteKeys(`${keyPrefix}:*`);
    }
  });

  it('keeps no personal data in clear: the value is sealed, key names carry a hash of the conversation', async () => {
    const keyPrefix = `test-state-${randomUUID()}`;
    const config = parseConfig({ redis: { url: REDIS_URL }, state: { driver: 'redis' } });
    const store = await createStateStore(config, { keyPrefix });
    const conversation = 'whatsapp:default:+8613800138000';
    try {
      await store.save(dialogState(conversation, 'my e-mail is ana@example.com, card 4111 1111 1111 1111'), {
        fencingToken: 1,
      });
      const keys = await admin.keys(`${keyPrefix}:*`);
      expect(keys.length).toBeGreaterThanOrEqual(2);
      for (const key of keys) {
        expect(key).not.toContain('13800138000');
        const value = (await admin.type(key)) === 'string' ? await admin.get(key) : '';
        expect(value).not.toMatch(/ana@example|4111|13800138000|A-1/);
      }
      expect(await admin.get((store as RedisStateStore).stateKey(conversation))).toMatch(/^hub1\./);
      expect((await store.load(conversation))?.history[0]?.text).toBe(
        'my e-mail is ana@example.com, card 4111 1111 1111 1111',
      );
      // A sealed state does not open as another conversation's.
      const other = 'whatsapp:default:+8613900139000';
      await admin.set(
        (store as RedisStateStore).stateKey(other),
        (await admin.get((store as RedisStateStore).stateKey(conversation))) ?? '',
      );
      await expect(store.load(other)).rejects.toMatchObject({ code: 'at_rest.tampered' });
    } finally {
      await store.close();
      await deleteKeys(`${keyPrefix}:*`);
    }
  });

  it('reads a state saved in clear before sealing, and its next save removes the clear copy', async () => {
    const keyPrefix = `test-state-${randomUUID()}`;
    const config = parseConfig({ redis: { url: REDIS_URL }, state: { driver: 'redis' } });
    const store = await createStateStore(config, { keyPrefix });
    try {
      const clearKey = `${keyPrefix}:state:webchat:default:old`;
      await admin.set(clearKey, JSON.stringify(dialogState('webchat:default:old', 'from before')));
      const state = await store.load('webchat:default:old');
      expect(state?.history[0]?.text).toBe('from before');
      await store.save(state as DialogState);
      expect(await admin.exists(clearKey)).toBe(0);
      expect((await store.load('webchat:default:old'))?.history[0]?.text).toBe('from before');
    } finally {
      await store.close();
      await deleteKeys(`${keyPrefix}:*`);
    }
  });

  it('leaves a clear copy it did not read alone: no delete on every save', async () => {
    const keyPrefix = `test-state-${randomUUID()}`;
    const config = parseConfig({ redis: { url: REDIS_URL }, state: { driver: 'redis' } });
    const store = await createStateStore(config, { keyPrefix });
    try {
      await store.save(dialogState('webchat:default:new', 'first'));
      const clearKey = `${keyPrefix}:state:webchat:default:new`;
      await admin.set(clearKey, 'written after the load');
      await store.save(dialogState('webchat:default:new', 'second'));
      expect(await admin.get(clearKey)).toBe('written after the load');
      expect((await store.load('webchat:default:new'))?.history[0]?.text).toBe('second');
    } finally {
      await store.close();
      await deleteKeys(`${keyPrefix}:*`);
    }
  });

  it('fails fast with a config error when Redis is unreachable', async () => {
    const config = parseConfig({ redis: { url: 'redis://127.0.0.1:1' }, state: { driver: 'redis' } });
    await expect(createStateStore(config)).rejects.toMatchObject({ code: 'config.redis_unreachable' });
    await expect(createLockManager(config)).rejects.toThrow(/Cannot reach Redis at redis:\/\/127\.0\.0\.1:1/);
  });
});

describe.runIf(redisClusterAvailable)('RedisStateStore on a Redis Cluster', () => {
  it("keeps each state in its conversation's bus slot, and reads the one kept under its own hash tag before until the first save", async () => {
    cluster ??= await startRedisCluster();
    const keyPrefix = `test-state-${randomUUID()}`;
    const config = parseConfig({
      redis: { cluster: { nodes: cluster.nodes, shards: 4 } },
      state: { driver: 'redis' },
    });
    const atRest = new AtRest(await resolveDataKeys({ inMemory: true }));
    const store = (await createStateStore(config, { keyPrefix, atRest })) as RedisStateStore;
    // The layout before: each key under its own hash tag.
    const before = new RedisStateStore(cluster.client, { ttlMs: 60_000, keyPrefix, atRest });
    try {
      await before.save(dialogState('webchat:default:c1', 'from before'));
      expect(store.stateKey('webchat:default:c1')).toMatch(
        new RegExp(`^\\{${keyPrefix}:bus:hub-inbound:\\d+\\}:state:`),
      );
      expect((await store.load('webchat:default:c1'))?.history[0]?.text).toBe('from before');
      await store.save(dialogState('webchat:default:c1', 'after'));
      expect((await store.load('webchat:default:c1'))?.history[0]?.text).toBe('after');
      // Deleting a conversation removes the copy from before too.
      await store.delete('webchat:default:c1');
      expect(await store.load('webchat:default:c1')).toBeUndefined();
      expect(await before.load('webchat:default:c1')).toBeUndefined();
    } finally {
      await store.close();
      await cluster.deleteKeys(keyPrefix);
    }
  });
});
