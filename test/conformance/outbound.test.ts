import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logger } from '../../core/log';
import {
  DeliveryError,
  MemoryDeliveryLedger,
  MemoryRateLimiter,
  OutboundScheduler,
  type PlatformSender,
  RedisDeliveryLedger,
  RedisRateLimiter,
  type SchedulerPolicy,
} from '../../core/outbound';
import { HubError, type OutboundMessage } from '../../core/types';
import {
  REDIS_CLUSTER_SKIP_REASON,
  redisClusterAvailable,
  startRedisCluster,
  type TestCluster,
} from '../support/redis-cluster';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const policy: SchedulerPolicy = {
  maxAttempts: 3,
  baseDelayMs: 20,
  maxDelayMs: 100,
  maxWaitMs: 5_000,
  idempotencyTtlMs: 60_000,
};

/** A platform on the far side of the sender: records calls, fails as told. Splits text on "|". */
function recordingSender(channel: string, windowMs = 200) {
  const sent: Array<{ id: string; part: string; at: number }> = [];
  const failures: Array<Error | 'hang'> = [];
  let release: (() => void) | undefined;
  const sender: PlatformSender<string> = {
    channel,
    render: (message) => (message.content.type === 'text' ? message.content.text.split('|') : []),
    rules: (message) => [{ key: `test:${channel}:${message.ref.conversation}`, limit: 1, windowMs }],
    async send(message, part) {
      const failure = failures.shift();
      if (failure === 'hang') await new Promise<void>((resolve) => (release = resolve));
      else if (failure) throw failure;
      sent.push({ id: message.id, part, at: Date.now() });
      return `${message.id}/${part}`;
    },
  };
  return { sender, sent, failures, release: () => release?.() };
}

const message = (id: string, text: string, conversation = 'chat-1'): OutboundMessage => ({
  id,
  ref: { channel: 'test', tenant: 'default', conversation },
  content: { type: 'text', text },
  createdAt: new Date().toISOString(),
});

interface Driver {
  name: string;
  /** Two schedulers as two replicas would have them: shared state when the driver is shared. */
  replicas(): [OutboundScheduler, OutboundScheduler];
}

let redis: Redis;
const prefix = `hub-test-outbound-${randomUUID().slice(0, 8)}`;

/** One Redis Cluster for the file (three masters, one replica each). */
let cluster: TestCluster | undefined;

beforeAll(async () => {
  redis = new Redis(REDIS_URL);
  if (redisClusterAvailable) cluster = await startRedisCluster();
}, 60_000);
afterAll(async () => {
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
  await cluster?.stop();
});

const drivers: Driver[] = [
  {
    name: 'memory',
    replicas() {
      const limiter = new MemoryRateLimiter();
      const ledger = new MemoryDeliveryLedger();
      const one = new OutboundScheduler({ limiter, ledger, policy, logger });
      return [one, new OutboundScheduler({ limiter, ledger, policy, logger })];
    },
  },
  {
    name: 'redis (two replicas)',
    replicas() {
      const make = () =>
        new OutboundScheduler({
          limiter: new RedisRateLimiter(redis, prefix),
          ledger: new RedisDeliveryLedger(redis, prefix),
          policy,
          logger,
        });
      return [make(), make()];
    },
  },
  ...(redisClusterAvailable
    ? [
        {
          name: 'redis-cluster (two replicas)',
          replicas(): [OutboundScheduler, OutboundScheduler] {
            if (!cluster) throw new Error('the Redis Cluster did not start');
            const client = cluster.client;
            const make = () =>
              new OutboundScheduler({
                limiter: new RedisRateLimiter(client, prefix),
                ledger: new RedisDeliveryLedger(client, prefix),
                policy,
                logger,
              });
            return [make(), make()];
          },
        },
      ]
    : []),
];

describe.skipIf(redisClusterAvailable)('outbound scheduler on redis-cluster', () => {
  it.skip(REDIS_CLUSTER_SKIP_REASON, () => {});
});

describe.each(drivers)('outbound scheduler on $name', (driver) => {
  it('posts a redelivered message once, on either replica', async () => {
    const [a, b] = driver.replicas();
    const { sender, sent } = recordingSender(`idem-${randomUUID()}`);
    const first = await a.deliver(message('m1', 'one|two'), sender);
    const again = await b.deliver(message('m1', 'one|two'), sender);
    expect(first).toMatchObject({ sent: 2, duplicates: 0 });
    expect(again).toMatchObject({ sent: 0, duplicates: 2, platformMessageIds: ['m1/one', 'm1/two'] });
    expect(sent.map((s) => s.part)).toEqual(['one', 'two']);
  });

  it('shares the per-conversation rate across replicas', async () => {
    const [a, b] = driver.replicas();
    const { sender, sent } = recordingSender(`rate-${randomUUID()}`, 200);
    await Promise.all([
      a.deliver(message('r1', 'x'), sender),
      b.deliver(message('r2', 'y'), sender),
      a.deliver(message('r3', 'z'), sender),
    ]);
    const times = sent.map((s) => s.at).sort((x, y) => x - y);
    expect(times).toHaveLength(3);
    for (let i = 1; i < times.length; i++)
      expect((times[i] ?? 0) - (times[i - 1] ?? 0)).toBeGreaterThanOrEqual(190);
    // Other conversations are not held back by this one.
    const started = Date.now();
    await b.deliver(message('r4', 'w', 'chat-2'), sender);
    expect(Date.now() - started).toBeLessThan(150);
  });

  it("takes a send's rules together: the bot's limit holds across its chats", async () => {
    const [a, b] = driver.replicas();
    const { sender, sent } = recordingSender(`bot-${randomUUID()}`, 1);
    const botKey = `test:${sender.channel}:bot`;
    // The bot's rule and each chat's, as the Telegram sender has them (one script on one slot).
    sender.rules = (outbound) => [
      { key: botKey, limit: 2, windowMs: 300 },
      { key: `test:${sender.channel}:chat:${outbound.ref.conversation}`, limit: 1, windowMs: 1 },
    ];
    const started = Date.now();
    await Promise.all([
      a.deliver(message('b1', 'x', 'chat-1'), sender),
      b.deliver(message('b2', 'y', 'chat-2'), sender),
      a.deliver(message('b3', 'z', 'chat-3'), sender),
    ]);
    const times = sent.map((s) => s.at - started).sort((x, y) => x - y);
    expect(times).toHaveLength(3);
    expect(times[2]).toBeGreaterThanOrEqual(290);
  });

  it('honours Retry-After on every replica, then delivers', async () => {
    const [a, b] = driver.replicas();
    const channel = `retry-${randomUUID()}`;
    const { sender, sent, failures } = recordingSender(channel, 1);
    failures.push(new DeliveryError('test.rate_limited', '429', { retryAfterMs: 400 }));
    const started = Date.now();
    const delayed = a.deliver(message('t1', 'late'), sender);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await b.deliver(message('t2', 'also late'), sender);
    await delayed;
    expect(sent.map((s) => s.id).sort()).toEqual(['t1', 't2']);
    for (const s of sent) expect(s.at - started).toBeGreaterThanOrEqual(390);
  });

  it('retries transient failures, then hands the turn back to the bus', async () => {
    const [a] = driver.replicas();
    const { sender, sent, failures } = recordingSender(`flaky-${randomUUID()}`, 1);
    failures.push(new DeliveryError('test.http_502', '502', { retryable: true }));
    expect(await a.deliver(message('f1', 'ok'), sender)).toMatchObject({ sent: 1 });
    for (let i = 0; i < policy.maxAttempts; i++)
      failures.push(new DeliveryError('test.http_503', '503', { retryable: true }));
    const error = await a.deliver(message('f2', 'later'), sender).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HubError);
    expect((error as HubError).retryable).toBe(true);
    // The claim was released: the bus's redelivery sends it.
    expect(await a.deliver(message('f2', 'later'), sender)).toMatchObject({ sent: 1 });
    expect(sent.map((s) => s.id)).toEqual(['f1', 'f2']);
  });

  it('gives up on a permanent refusal without retrying or sending the rest', async () => {
    const [a] = driver.replicas();
    const { sender, sent, failures } = recordingSender(`refused-${randomUUID()}`, 1);
    failures.push(new DeliveryError('test.http_400', 'chat not found', { retryable: false }));
    const report = await a.deliver(message('p1', 'one|two'), sender);
    expect(report).toMatchObject({ sent: 0, failed: 1 });
    expect(sent).toHaveLength(0);
  });

  it('refuses a second concurrent delivery of the same message', async () => {
    const [a, b] = driver.replicas();
    const fake = recordingSender(`inflight-${randomUUID()}`, 1);
    fake.failures.push('hang');
    const first = a.deliver(message('c1', 'once'), fake.sender);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const second = await b.deliver(message('c1', 'once'), fake.sender).catch((e: unknown) => e);
    expect((second as HubError).code).toBe('outbound.in_flight');
    fake.release();
    await first;
    expect(fake.sent).toHaveLength(1);
  });
});
