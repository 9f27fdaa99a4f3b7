import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChannelStorage } from '../../app/channels';
import { hubConfigSchema } from '../../core/config/schema';
import { MemoryKeyValueStore, RedisKeyValueStore } from '../../core/storage';
import type { KeyValueStore } from '../../core/types';
import {
  REDIS_CLUSTER_SKIP_REASON,
  redisClusterAvailable,
  startRedisCluster,
  type TestCluster,
} from '../support/redis-cluster';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `hub-kv-${randomBytes(4).toString('hex')}`;
let redis: Redis;

/** A Redis Cluster for the file: a delete of several keys spans slots there. */
let cluster: TestCluster | undefined;

beforeAll(async () => {
  redis = new Redis(REDIS_URL);
  if (redisClusterAvailable) cluster = await startRedisCluster();
}, 60_000);
afterAll(async () => {
  for await (const keys of redis.scanStream({ match: `${prefix}*`, count: 500 })) {
    if ((keys as string[]).length) await redis.del(...(keys as string[]));
  }
  await redis.quit();
  await cluster?.stop();
});

const stores: Array<{ name: string; make(): KeyValueStore }> = [
  { name: 'memory', make: () => new MemoryKeyValueStore() },
  { name: 'redis', make: () => new RedisKeyValueStore(redis, `${prefix}-${randomBytes(3).toString('hex')}`) },
  ...(redisClusterAvailable
    ? [
        {
          name: 'redis-cluster',
          make: () => {
            if (!cluster) throw new Error('the Redis Cluster did not start');
            return new RedisKeyValueStore(cluster.client, `${prefix}-${randomBytes(3).toString('hex')}`);
          },
        },
      ]
    : []),
];

describe.skipIf(redisClusterAvailable)('key-value store conformance: redis-cluster', () => {
  it.skip(REDIS_CLUSTER_SKIP_REASON, () => {});
});

describe.each(stores)('key-value store conformance: $name', ({ make }) => {
  it('stores a value until its TTL runs out', async () => {
    const store = make();
    expect(await store.get('a')).toBeUndefined();
    expect(await store.set('a', 'one', { ttlMs: 150 })).toBe(true);
    expect(await store.get('a')).toBe('one');
    await sleep(250);
    expect(await store.get('a')).toBeUndefined();
  });

  it('writes with ifAbsent only when the key is not there, or has expired', async () => {
    const store = make();
    expect(await store.set('claim', '1', { ttlMs: 150, ifAbsent: true })).toBe(true);
    expect(await store.set('claim', '2', { ttlMs: 150, ifAbsent: true })).toBe(false);
    expect(await store.get('claim')).toBe('1');
    await sleep(250);
    expect(await store.set('claim', '3', { ttlMs: 1_000, ifAbsent: true })).toBe(true);
  });

  it('raises a number, never lowers it, and expires it at the given time', async () => {
    const store = make();
    const now = Date.now();
    expect(await store.raise('at', 100, now + 200)).toBe(true);
    expect(await store.raise('at', 50, now + 60_000)).toBe(false);
    expect(await store.get('at')).toBe('100');
    expect(await store.raise('at', 200, now - 1)).toBe(false);
    expect(await store.get('at')).toBe('100');
    await sleep(300);
    expect(await store.get('at')).toBeUndefined();
    expect(await store.raise('at', 10, Date.now() + 60_000)).toBe(true);
  });

  it('deletes keys, and keeps namespaces apart', async () => {
    const store = make();
    const a = store.namespace('whatsapp:a');
    const b = store.namespace('whatsapp:b');
    await a.set('k', 'from a', { ttlMs: 60_000 });
    await b.set('k', 'from b', { ttlMs: 60_000 });
    expect(await a.get('k')).toBe('from a');
    expect(await store.get('whatsapp:b:k')).toBe('from b');
    await a.delete('k', 'missing', 'other');
    expect(await a.get('k')).toBeUndefined();
    expect(await b.get('k')).toBe('from b');
  });
});

describe('Redis key-value store failures', () => {
  it('are one retryable 503 error, so a webhook that needs the store asks the platform to retry', async () => {
    const down = new Redis('redis://127.0.0.1:1', {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
    });
    const store = new RedisKeyValueStore(down, prefix);
    await expect(store.get('x')).rejects.toMatchObject({
      code: 'storage.unavailable',
      retryable: true,
      status: 503,
    });
    down.disconnect();
  });
});

describe("the hub's channel storage", () => {
  it('is in memory when the hub runs embedded', async () => {
    const { storage, close } = await createChannelStorage(hubConfigSchema.parse({}));
    expect(storage).toBeInstanceOf(MemoryKeyValueStore);
    await close();
  });

  it('is in Redis under redis.keyPrefix when the hub runs on Redis, so every replica sees it', async () => {
    const config = hubConfigSchema.parse({
      bus: { driver: 'bullmq' },
      redis: { url: REDIS_URL, keyPrefix: prefix },
    });
    const { storage, close } = await createChannelStorage(config);
    await storage.namespace('whatsapp:wa').set('window:15550001', '42', { ttlMs: 60_000 });
    expect(await redis.get(`${prefix}:whatsapp:wa:window:15550001`)).toBe('42');
    await close();
  });
});
