import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registry } from '../../core/metrics';
import { connectRedis, isCluster, type RedisClient } from '../../core/state';
import {
  connectRedisCluster,
  duplicateClient,
  redisRequestsSent,
  redisRequestsSentBy,
} from '../../core/state/redis-client';
import {
  REDIS_CLUSTER_SKIP_REASON,
  redisClusterAvailable,
  startRedisCluster,
  type TestCluster,
} from '../support/redis-cluster';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/**
 * Requests `redis` sent while `work` ran. The process's total counts them too (it may count more:
 * connections that earlier test files in this process left open send meanwhile).
 */
async function counted(redis: RedisClient, work: () => Promise<unknown>): Promise<number> {
  const before = redisRequestsSentBy(redis);
  const totalBefore = redisRequestsSent();
  await work();
  const sent = redisRequestsSentBy(redis) - before;
  expect(redisRequestsSent() - totalBefore).toBeGreaterThanOrEqual(sent);
  return sent;
}

function requestsSuite(connect: () => Promise<RedisClient>) {
  let redis: RedisClient;
  beforeAll(async () => {
    redis = await connect();
  }, 60_000);
  afterAll(async () => {
    await redis?.quit();
  });

  it('counts a command sent on its own once, and a pipeline or MULTI once whatever it holds', async () => {
    const key = `test-requests-{${Math.random()}}`;
    // A cluster connects to its nodes on first use (a handshake that counts too): every node first.
    if (isCluster(redis)) await Promise.all(redis.nodes().map((node) => node.ping()));
    await redis.get(key);
    expect(await counted(redis, () => redis.set(key, '1', 'PX', 10_000))).toBe(1);
    expect(await counted(redis, () => Promise.all([redis.get(key), redis.get(key)]))).toBe(2);
    expect(await counted(redis, () => redis.pipeline().get(key).incr(key).pexpire(key, 10_000).exec())).toBe(
      1,
    );
    expect(await counted(redis, () => redis.multi().incr(key).incr(key).exec())).toBe(1);
    // A script is one request, whatever it runs inside Redis.
    expect(
      await counted(redis, () =>
        redis.eval("redis.call('INCR', KEYS[1]); return redis.call('GET', KEYS[1])", 1, key),
      ),
    ).toBe(1);
    await redis.del(key);
  });

  it("counts a duplicate's requests too (BullMQ's connections are duplicates)", async () => {
    const copy = duplicateClient(redis);
    try {
      expect(await counted(copy, () => copy.ping())).toBeGreaterThanOrEqual(1);
    } finally {
      copy.disconnect();
    }
  });

  it('exposes the count as hub_redis_requests_total on /metrics', async () => {
    await redis.ping();
    const before = redisRequestsSent();
    const text = await registry.metrics();
    const value = Number(/^hub_redis_requests_total (\S+)$/m.exec(text)?.[1]);
    expect(value).toBeGreaterThanOrEqual(before);
    expect(value).toBeLessThanOrEqual(redisRequestsSent());
    expect(value).toBeGreaterThan(0);
  });
}

describe('hub_redis_requests_total: one Redis server', () => {
  requestsSuite(() => connectRedis(REDIS_URL, 'test'));

  it('does not count connections the hub did not open', async () => {
    const { Redis } = await import('ioredis');
    const foreign = new Redis(REDIS_URL);
    try {
      expect(await counted(foreign as RedisClient, () => foreign.ping())).toBe(0);
    } finally {
      foreign.disconnect();
    }
  });
});

describe.skipIf(redisClusterAvailable)('hub_redis_requests_total: Redis Cluster', () => {
  it.skip(REDIS_CLUSTER_SKIP_REASON, () => {});
});

describe.runIf(redisClusterAvailable)('hub_redis_requests_total: Redis Cluster', () => {
  let cluster: TestCluster | undefined;
  afterAll(async () => {
    await cluster?.stop();
  });
  requestsSuite(async () => {
    cluster = await startRedisCluster();
    return connectRedisCluster(cluster.nodes, 'test');
  });
});
