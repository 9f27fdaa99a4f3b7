import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { Counter } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { bullPrefix, createBus, createFeed } from '../../core/bus';
import { BusKeys } from '../../core/bus/keys';
import { parseConfig } from '../../core/config/load';
import type { HubConfig } from '../../core/config/schema';
import { busDeadLetters } from '../../core/metrics';
import { AtRest } from '../../core/privacy/at-rest';
import { resolveDataKeys } from '../../core/privacy/data-keys';
import { createStateStore, MemoryStateStore, type RedisClient, RedisStateStore } from '../../core/state';
import type { DeliveryContext, DialogState, EventBus, OutboundFeed, StateStore } from '../../core/types';
import { conversationKey } from '../../core/types/conversation';
import { HubError } from '../../core/types/errors';
import type { InboundEvent } from '../../core/types/events';
import type { OutboundMessage } from '../../core/types/outbound';
import {
  REDIS_CLUSTER_SKIP_REASON,
  redisClusterAvailable,
  startRedisCluster,
  type TestCluster,
} from '../support/redis-cluster';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const CRASH_WORKER = fileURLToPath(new URL('./bus-crash-worker.ts', import.meta.url));
/** Scheduling delay allowed on a loaded machine (HUB_TEST_SLACK): scales the shortest leases below. */
const SLACK = Number(process.env.HUB_TEST_SLACK ?? 2);

type BusSettings = Partial<HubConfig['bus']>;

let admin: Redis;
beforeAll(() => {
  admin = new Redis(REDIS_URL);
});
afterAll(async () => {
  await admin.quit();
  await cluster?.stop();
});

/** One Redis Cluster for the whole file, started by the first suite that needs it. */
let cluster: TestCluster | undefined;
async function testCluster(): Promise<TestCluster> {
  cluster ??= await startRedisCluster();
  return cluster;
}

type Driver = 'memory' | 'bullmq' | 'redis-cluster';
const drivers: Driver[] = [
  'memory',
  'bullmq',
  ...(redisClusterAvailable ? (['redis-cluster'] as const) : []),
];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

function inbound(conversation: string, n: number, text = `message ${n}`): InboundEvent {
  return {
    // A colon in the id exercises the BullMQ job id encoding.
    id: `${conversation}:${n}`,
    kind: 'message',
    ref: { channel: 'test', tenant: 'default', conversation },
    sender: { id: 'customer-1' },
    receivedAt: new Date().toISOString(),
    text,
  };
}

function reply(eventId: string, text: string): OutboundMessage {
  return {
    id: `${eventId}#0`,
    ref: { channel: 'test', tenant: 'default', conversation: eventId.split(':')[0] ?? '' },
    inReplyTo: eventId,
    content: { type: 'text', text },
    createdAt: new Date().toISOString(),
    source: 'system',
  };
}

async function total(counter: Counter): Promise<number> {
  return (await counter.get()).values.reduce((sum, value) => sum + value.value, 0);
}

/** Records what handlers saw: order per conversation, and how many ran at once overall and per conversation. */
class Recorder {
  readonly handled = new Map<string, string[]>();
  readonly deliveries: Array<{ id: string; ctx: DeliveryContext; at: number }> = [];
  maxInFlight = 0;
  maxInFlightPerConversation = 0;
  private inFlight = 0;
  private readonly perConversation = new Map<string, number>();

  handler(work: (event: InboundEvent, ctx: DeliveryContext) => Promise<unknown> = async () => {}) {
    return async (event: InboundEvent, ctx: DeliveryContext) => {
      const key = conversationKey(event.ref);
      this.deliveries.push({ id: event.id, ctx, at: Date.now() });
      this.inFlight++;
      this.perConversation.set(key, (this.perConversation.get(key) ?? 0) + 1);
      this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
      this.maxInFlightPerConversation = Math.max(
        this.maxInFlightPerConversation,
        this.perConversation.get(key) ?? 0,
      );
      try {
        await work(event, ctx);
        this.handled.set(key, [...(this.handled.get(key) ?? []), event.id]);
      } finally {
        this.inFlight--;
        this.perConversation.set(key, (this.perConversation.get(key) ?? 1) - 1);
      }
    };
  }

  count(): number {
    return [...this.handled.values()].reduce((sum, ids) => sum + ids.length, 0);
  }

  ids(conversation: string): string[] {
    return this.handled.get(conversationKey(inbound(conversation, 0).ref)) ?? [];
  }

  attempts(id: string): number[] {
    return this.deliveries.filter((delivery) => delivery.id === id).map((delivery) => delivery.ctx.attempt);
  }
}

/** One isolated bus world per test: its own key prefix and queue, removed afterwards. */
class World {
  readonly keyPrefix = `test-bus-${randomUUID()}`;
  readonly queue = `q-${randomUUID()}`;
  private readonly opened: Array<{ close(): Promise<void> }> = [];

  constructor(
    readonly driver: Driver,
    readonly cluster?: TestCluster,
  ) {}

  /** The test's own connection to the world's Redis (shared: not to be closed). */
  redis(): RedisClient {
    return this.cluster?.client ?? admin;
  }

  /** Where the bus keeps a conversation's keys (its shard's prefix), as core/bus/keys.ts lays them out. */
  shardOf(conversation: string): string {
    return new BusKeys(`${this.keyPrefix}:bus:${this.queue}`, 4, Boolean(this.cluster)).of(conversation);
  }

  configInput(settings: BusSettings = {}) {
    return {
      redis: this.cluster ? { cluster: { nodes: this.cluster.nodes, shards: 4 } } : { url: REDIS_URL },
      bus: {
        driver: this.driver === 'memory' ? 'memory' : 'bullmq',
        queue: this.queue,
        maxAttempts: 3,
        backoffMs: 20,
        concurrency: 4,
        lockTtlMs: 1_000,
        ...settings,
      },
    };
  }

  async bus(settings: BusSettings = {}): Promise<EventBus> {
    const bus = await createBus(parseConfig(this.configInput(settings)), { keyPrefix: this.keyPrefix });
    this.opened.push(bus);
    return bus;
  }

  private sealer?: Promise<AtRest>;

  /** The world's one sealer (fresh keys each world): every state store of it must share it. */
  atRest(): Promise<AtRest> {
    this.sealer ??= resolveDataKeys({ inMemory: true }).then((keys) => new AtRest(keys));
    return this.sealer;
  }

  /** The dialog state store the hub would pair with this bus (Redis for BullMQ: the bus then commits states itself). */
  async states(): Promise<StateStore> {
    const config = parseConfig({
      ...this.configInput(),
      state: { driver: this.driver === 'memory' ? 'memory' : 'redis' },
    });
    const states =
      this.driver === 'memory'
        ? new MemoryStateStore({ ttlMs: 60_000 })
        : await createStateStore(config, {
            keyPrefix: this.keyPrefix,
            atRest: await this.atRest(),
          });
    this.opened.push(states);
    return states;
  }

  async feed(): Promise<OutboundFeed> {
    const feed = await createFeed(parseConfig(this.configInput()), { keyPrefix: this.keyPrefix });
    this.opened.push(feed);
    return feed;
  }

  async dispose(): Promise<void> {
    await Promise.allSettled(this.opened.splice(0).map((part) => part.close()));
    if (this.cluster) return this.cluster.deleteKeys(this.keyPrefix);
    const keys = await admin.keys(`${this.keyPrefix}:*`);
    if (keys.length > 0) await admin.del(...keys);
  }
}

describe.skipIf(redisClusterAvailable)('EventBus conformance: redis-cluster', () => {
  it.skip(REDIS_CLUSTER_SKIP_REASON, () => {});
});

describe.each(drivers)('EventBus conformance: %s', (driver) => {
  let world: World;
  let shared: TestCluster | undefined;
  beforeAll(async () => {
    shared = driver === 'redis-cluster' ? await testCluster() : undefined;
    world = new World(driver, shared);
  }, 60_000);
  afterEach(async () => {
    await world.dispose();
    world = new World(driver, shared);
  });

  it('delivers each event in order within its conversation, in parallel across conversations', async () => {
    const bus = await world.bus({ concurrency: 4 });
    const recorder = new Recorder();
    await bus.consume(recorder.handler(() => sleep(Math.random() * 4)));
    const conversations = ['a', 'b', 'c', 'd'];
    for (let n = 1; n <= 12; n++) {
      for (const conversation of conversations)
        expect(await bus.publish(inbound(conversation, n))).toEqual({ accepted: true });
    }
    await waitFor(() => recorder.count() === 48, 'all 48 events');
    for (const conversation of conversations) {
      expect(recorder.ids(conversation)).toEqual(
        Array.from({ length: 12 }, (_, i) => `${conversation}:${i + 1}`),
      );
    }
    expect(recorder.maxInFlightPerConversation).toBe(1);
    expect(recorder.maxInFlight).toBeGreaterThan(1);
    expect(recorder.maxInFlight).toBeLessThanOrEqual(4);
    expect(recorder.deliveries.every(({ ctx }) => ctx.attempt === 1)).toBe(true);
    await waitFor(async () => (await bus.pending()) === 0, 'pending to drop to 0');
  });

  it('runs at most `concurrency` handlers at once', async () => {
    const bus = await world.bus({ concurrency: 2 });
    const recorder = new Recorder();
    await bus.consume(recorder.handler(() => sleep(60)));
    for (const conversation of ['a', 'b', 'c', 'd', 'e', 'f']) await bus.publish(inbound(conversation, 1));
    await waitFor(() => recorder.count() === 6, 'six events');
    expect(recorder.maxInFlight).toBe(2);
  });

  it('refuses an event id already accepted within the dedupe window', async () => {
    const bus = await world.bus();
    const recorder = new Recorder();
    expect(await bus.publish(inbound('a', 1))).toEqual({ accepted: true });
    expect(await bus.publish(inbound('a', 1, 'the platform retried'))).toEqual({ accepted: false });
    await bus.consume(recorder.handler());
    await waitFor(() => recorder.count() === 1, 'the event');
    expect(await bus.publish(inbound('a', 1))).toEqual({ accepted: false });
    await sleep(50);
    expect(recorder.deliveries).toHaveLength(1);
  });

  it('accepts the same id again once the dedupe window is over', async () => {
    const bus = await world.bus({ dedupeWindowHours: 150 / 3_600_000 });
    expect(await bus.publish(inbound('a', 1))).toEqual({ accepted: true });
    expect(await bus.publish(inbound('a', 1))).toEqual({ accepted: false });
    await sleep(250);
    expect(await bus.publish(inbound('a', 1))).toEqual({ accepted: true });
  });

  it('retries a failing handler with exponential backoff, holding back only its conversation', async () => {
    const bus = await world.bus({ backoffMs: 60, maxAttempts: 4 });
    const recorder = new Recorder();
    await bus.consume(
      recorder.handler(async (event, ctx) => {
        if (event.id === 'a:1' && ctx.attempt < 3) throw new Error('ERP timed out');
      }),
    );
    await bus.publish(inbound('a', 1));
    await bus.publish(inbound('a', 2));
    await bus.publish(inbound('b', 1));
    await waitFor(() => recorder.count() === 3, 'three events');
    expect(recorder.attempts('a:1')).toEqual([1, 2, 3]);
    expect(recorder.ids('a')).toEqual(['a:1', 'a:2']);
    const times = recorder.deliveries.filter((d) => d.id === 'a:1').map((d) => d.at);
    const [first = 0, second = 0, third = 0] = times;
    expect(second - first).toBeGreaterThanOrEqual(55);
    expect(third - second).toBeGreaterThanOrEqual(115);
    // The other conversation did not wait for the backoff.
    const bAt = recorder.deliveries.find((d) => d.id === 'b:1')?.at ?? Number.POSITIVE_INFINITY;
    expect(bAt).toBeLessThan(third);
    expect(recorder.attempts('a:2')).toEqual([1]);
  });

  it('dead-letters an event after maxAttempts, goes on with the conversation, and replays it', async () => {
    const bus = await world.bus({ maxAttempts: 3, backoffMs: 10 });
    const recorder = new Recorder();
    const deadBefore = await total(busDeadLetters);
    let poisoned = true;
    await bus.consume(
      recorder.handler(async (event) => {
        if (poisoned && event.id === 'a:1') throw new Error('cannot parse order number');
      }),
    );
    await bus.publish(inbound('a', 1));
    await bus.publish(inbound('a', 2));
    await waitFor(() => recorder.ids('a').includes('a:2'), 'the next event of the conversation');
    expect(recorder.attempts('a:1')).toEqual([1, 2, 3]);
    const letters = await bus.deadLetters();
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({ event: { id: 'a:1', text: 'message 1' }, attempts: 3 });
    expect(letters[0]?.error).toContain('cannot parse order number');
    expect(Number.isNaN(Date.parse(letters[0]?.failedAt ?? ''))).toBe(false);
    expect(await total(busDeadLetters)).toBe(deadBefore + 1);
    expect(await bus.pending()).toBe(0);

    poisoned = false;
    expect(await bus.replayDeadLetters()).toBe(1);
    await waitFor(() => recorder.ids('a').includes('a:1'), 'the replayed event');
    expect(recorder.attempts('a:1')).toEqual([1, 2, 3, 1]);
    expect(await bus.deadLetters()).toEqual([]);
    await waitFor(async () => (await bus.pending()) === 0, 'pending to drop to 0');
  });

  it('dead-letters an error that is not retryable at once, recording its code, and goes on', async () => {
    const bus = await world.bus({ maxAttempts: 5, backoffMs: 10 });
    const recorder = new Recorder();
    await bus.consume(
      recorder.handler(async (event) => {
        if (event.id === 'a:1') throw new HubError('erp.order_id_invalid', 'order number has letters in it');
      }),
    );
    await bus.publish(inbound('a', 1));
    await bus.publish(inbound('a', 2));
    await waitFor(() => recorder.ids('a').includes('a:2'), 'the next event of the conversation');
    expect(recorder.attempts('a:1')).toEqual([1]);
    const letters = await bus.deadLetters();
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({ event: { id: 'a:1' }, code: 'erp.order_id_invalid', attempts: 1 });
    expect(letters[0]?.error).toContain('order number has letters in it');
    await waitFor(async () => (await bus.pending()) === 0, 'pending to drop to 0');
  });

  it('holds a conversation back through an outage without using up its attempts, then resumes in order', async () => {
    const bus = await world.bus({ maxAttempts: 2, backoffMs: 10 });
    const recorder = new Recorder();
    let databaseUp = false;
    const outages = [
      () =>
        Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }),
      () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
      () => new Error('Connection is closed.'),
      () => new HubError('erp.circuit_open', 'ERP circuit open', { retryable: true }),
    ];
    let failures = 0;
    await bus.consume(
      recorder.handler(async (event) => {
        // Conversation "a" needs the database; "b" does not, and must keep flowing.
        if (event.ref.conversation === 'a' && !databaseUp) throw outages[failures++ % outages.length]?.();
      }),
    );
    for (let n = 1; n <= 3; n++) {
      await bus.publish(inbound('a', n));
      await bus.publish(inbound('b', n));
    }
    await waitFor(() => recorder.attempts('a:1').length >= 6, 'a:1 to be tried well past maxAttempts');
    await waitFor(() => recorder.ids('b').length === 3, 'the other conversation');
    expect(recorder.ids('a')).toEqual([]);
    expect(await bus.deadLetters()).toEqual([]);
    expect(await bus.pending()).toBe(3);
    // Each delivery is a redelivery to the handler, although none used up an attempt.
    const seen = recorder.attempts('a:1');
    expect(seen).toEqual(Array.from({ length: seen.length }, (_, i) => i + 1));

    databaseUp = true;
    await waitFor(() => recorder.ids('a').length === 3, 'the conversation to resume');
    expect(recorder.ids('a')).toEqual(['a:1', 'a:2', 'a:3']);
    expect(recorder.attempts('a:2')).toEqual([1]);
    expect(await bus.deadLetters()).toEqual([]);
    await waitFor(async () => (await bus.pending()) === 0, 'pending to drop to 0');
  });

  it('replays dead letters to the head of their conversations, before newer events, in order', async () => {
    const bus = await world.bus({ maxAttempts: 3, backoffMs: 10 });
    const recorder = new Recorder();
    const refused = new Set(['a:1', 'a:2', 'b:1']);
    let databaseUp = false;
    await bus.consume(
      recorder.handler(async (event) => {
        if (refused.has(event.id)) throw new HubError('test.refused', `refused ${event.id}`);
        if (event.id === 'a:3' && !databaseUp) throw new HubError('store.unavailable', 'database restarting');
      }),
    );
    for (let n = 1; n <= 4; n++) await bus.publish(inbound('a', n));
    await bus.publish(inbound('b', 1));
    await bus.publish(inbound('b', 2));
    await waitFor(() => recorder.attempts('a:3').length >= 2, 'a:3 to wait for the database');
    await waitFor(() => recorder.ids('b').includes('b:2'), 'b:2');
    expect((await bus.deadLetters()).map((letter) => letter.event.id).sort()).toEqual(['a:1', 'a:2', 'b:1']);

    refused.clear();
    expect(await bus.replayDeadLetters()).toBe(3);
    databaseUp = true;
    await waitFor(() => recorder.ids('a').length === 4 && recorder.ids('b').length === 2, 'every event');
    expect(recorder.ids('a')).toEqual(['a:1', 'a:2', 'a:3', 'a:4']);
    expect(recorder.ids('b')).toEqual(['b:2', 'b:1']);
    expect(await bus.deadLetters()).toEqual([]);
    await waitFor(async () => (await bus.pending()) === 0, 'pending to drop to 0');
  });

  it('replays a dead letter right after the event being handled, which is not delivered again', async () => {
    const bus = await world.bus({ maxAttempts: 3, backoffMs: 10 });
    const recorder = new Recorder();
    let refuse = true;
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    await bus.consume(
      recorder.handler(async (event) => {
        if (event.id === 'a:1' && refuse) throw new HubError('test.refused', 'refused a:1');
        if (event.id === 'a:2') await gate;
      }),
    );
    for (let n = 1; n <= 3; n++) await bus.publish(inbound('a', n));
    await waitFor(() => recorder.deliveries.some((d) => d.id === 'a:2'), 'a:2 to be in its handler');
    refuse = false;
    expect(await bus.replayDeadLetters()).toBe(1);
    release();
    await waitFor(() => recorder.ids('a').length === 3, 'every event');
    expect(recorder.ids('a')).toEqual(['a:2', 'a:1', 'a:3']);
    expect(recorder.attempts('a:2')).toEqual([1]);
    await waitFor(async () => (await bus.pending()) === 0, 'pending to drop to 0');
  });

  it('replays only the dead letters asked for', async () => {
    const bus = await world.bus({ maxAttempts: 1 });
    const recorder = new Recorder();
    let failing = true;
    await bus.consume(
      recorder.handler(async () => {
        if (failing) throw new Error('down');
      }),
    );
    await bus.publish(inbound('a', 1));
    await bus.publish(inbound('b', 1));
    await waitFor(async () => (await bus.deadLetters()).length === 2, 'two dead letters');
    expect(await bus.deadLetters(1)).toHaveLength(1);
    failing = false;
    expect(await bus.replayDeadLetters(['b:1', 'no-such-event'])).toBe(1);
    await waitFor(() => recorder.count() === 1, 'the replayed event');
    expect(recorder.ids('b')).toEqual(['b:1']);
    expect((await bus.deadLetters()).map((letter) => letter.event.id)).toEqual(['a:1']);
  });

  it('counts accepted events until they are handled', async () => {
    const bus = await world.bus();
    const recorder = new Recorder();
    await bus.publish(inbound('a', 1));
    await bus.publish(inbound('a', 2));
    await bus.publish(inbound('b', 1));
    await bus.publish(inbound('b', 1));
    expect(await bus.pending()).toBe(3);
    await bus.consume(recorder.handler());
    await waitFor(() => recorder.count() === 3, 'three events');
    await waitFor(async () => (await bus.pending()) === 0, 'pending to drop to 0');
  });

  it('reports how long the oldest unhandled event has waited, and none once it is handled or dead', async () => {
    const bus = await world.bus({ maxAttempts: 1 });
    expect(await bus.oldestPendingAgeMs()).toBe(0);
    await bus.publish(inbound('a', 1));
    await sleep(150);
    await bus.publish(inbound('b', 1));
    const waited = await bus.oldestPendingAgeMs();
    expect(waited).toBeGreaterThanOrEqual(140);
    expect(waited).toBeLessThan(2_000);
    await sleep(100);
    // It grows while nobody handles the events.
    expect(await bus.oldestPendingAgeMs()).toBeGreaterThanOrEqual(waited + 90);

    const recorder = new Recorder();
    await bus.consume(
      recorder.handler(async (event) => {
        if (event.id === 'b:1') throw new HubError('test.refused', 'refused', { retryable: false });
      }),
    );
    await waitFor(async () => (await bus.deadLetters()).length === 1, 'the dead letter');
    await waitFor(async () => (await bus.pending()) === 0, 'pending to drop to 0');
    // A dead letter is not waiting: it is the dead-letter queue's business now.
    expect(await bus.oldestPendingAgeMs()).toBe(0);
  });

  it("counts each tenant's backlog and oldest age apart, down to none once handled, dead or replayed", async () => {
    const bus = await world.bus({ maxAttempts: 1 });
    const of = (tenant: string, conversation: string, n: number): InboundEvent => {
      const event = inbound(conversation, n);
      return { ...event, id: `${tenant}:${event.id}`, ref: { ...event.ref, tenant } };
    };
    expect(await bus.tenantBacklog('acme')).toEqual({ pending: 0, oldestAgeMs: 0 });
    await bus.publish(of('acme', 'a', 1));
    await sleep(120);
    await bus.publish(of('acme', 'a', 2));
    await bus.publish(of('globex', 'g', 1));
    // A duplicate is not counted twice.
    await bus.publish(of('acme', 'a', 2));
    const acme = await bus.tenantBacklog('acme');
    expect(acme.pending).toBe(2);
    expect(acme.oldestAgeMs).toBeGreaterThanOrEqual(110);
    expect(acme.oldestAgeMs).toBeLessThan(2_000);
    const globex = await bus.tenantBacklog('globex');
    expect(globex.pending).toBe(1);
    expect(globex.oldestAgeMs).toBeLessThan(acme.oldestAgeMs);
    expect([...(await bus.tenantBacklogs()).keys()].sort()).toEqual(['acme', 'globex']);
    expect(await bus.isPending(of('acme', 'a', 1))).toBe(true);

    const recorder = new Recorder();
    await bus.consume(
      recorder.handler(async (event) => {
        if (event.id === 'globex:g:1') throw new HubError('test.refused', 'refused', { retryable: false });
      }),
    );
    await waitFor(async () => (await bus.pending()) === 0, 'pending to drop to 0');
    expect(await bus.tenantBacklog('acme')).toEqual({ pending: 0, oldestAgeMs: 0 });
    expect(await bus.tenantBacklog('globex')).toEqual({ pending: 0, oldestAgeMs: 0 });
    expect((await bus.tenantBacklogs()).size).toBe(0);
    expect(await bus.isPending(of('acme', 'a', 1))).toBe(false);

    // A replayed dead letter is the tenant's again until it is handled.
    await bus.replayDeadLetters();
    await waitFor(async () => (await bus.pending()) === 0, 'the replayed letter to be handled or dead again');
    expect(await bus.tenantBacklog('globex')).toEqual({ pending: 0, oldestAgeMs: 0 });
  });

  it('gives each delivery a fencing token that grows per conversation and a live signal', async () => {
    const bus = await world.bus({ maxAttempts: 2, backoffMs: 10 });
    const recorder = new Recorder();
    await bus.consume(
      recorder.handler(async (event, ctx) => {
        if (event.id === 'a:2' && ctx.attempt === 1) throw new Error('once');
      }),
    );
    for (let n = 1; n <= 5; n++) await bus.publish(inbound('a', n));
    await waitFor(() => recorder.count() === 5, 'five events');
    const tokens = recorder.deliveries.map(({ ctx }) => ctx.fencingToken);
    expect(tokens.every((token) => Number.isSafeInteger(token) && token > 0)).toBe(true);
    expect(tokens).toEqual([...tokens].sort((x, y) => x - y));
    // A retry after backoff is a new lease, so a stalled earlier holder is fenced off.
    const [firstTry, secondTry] = recorder.deliveries
      .filter((d) => d.id === 'a:2')
      .map(({ ctx }) => ctx.fencingToken);
    expect(secondTry).toBeGreaterThan(firstTry ?? Number.POSITIVE_INFINITY);
    expect(recorder.deliveries.every(({ ctx }) => !ctx.signal.aborted)).toBe(true);
  });

  it('closes gracefully: finishes the running handler, then takes no more work', async () => {
    const bus = await world.bus();
    const recorder = new Recorder();
    let finished = false;
    await bus.consume(
      recorder.handler(async (event) => {
        if (event.id !== 'a:1') return;
        await sleep(200);
        finished = true;
      }),
    );
    await bus.publish(inbound('a', 1));
    await bus.publish(inbound('a', 2));
    await waitFor(() => recorder.deliveries.length === 1, 'the first delivery');
    await bus.close();
    expect(finished).toBe(true);
    await sleep(100);
    expect(recorder.deliveries.map((d) => d.id)).toEqual(['a:1']);
    await expect(bus.publish(inbound('a', 3))).rejects.toMatchObject({ code: 'bus.closed' });
  });

  it("commits a turn's state and feed messages with its event, and nothing from a handler that threw", async () => {
    const bus = await world.bus({ backoffMs: 10 });
    const states = await world.states();
    const feed = await world.feed();
    const received: OutboundMessage[] = [];
    await feed.subscribe((message) => received.push(message));
    const seen: Array<{ id: string; count: unknown }> = [];
    let failedOnce = false;
    await bus.consume(
      async (event, ctx) => {
        const turn = ctx.turn;
        if (!turn) throw new Error('no TurnCommit although consume was given one');
        const count = Number(turn.state?.slots.count ?? 0);
        seen.push({ id: event.id, count: turn.state?.slots.count });
        const state: DialogState = {
          conversationKey: conversationKey(event.ref),
          slots: { count: String(count + 1) },
          history: [],
          handoff: 'bot',
          handledEventIds: [event.id],
          updatedAt: new Date().toISOString(),
        };
        turn.saveState(state);
        turn.publish(reply(event.id, 'reply'));
        if (event.id === 'a:2' && !failedOnce) {
          failedOnce = true;
          throw new Error('fails after handing over its results');
        }
      },
      { commit: { states, feed } },
    );
    for (let n = 1; n <= 3; n++) await bus.publish(inbound('a', n));
    await waitFor(() => received.length === 3, 'three replies on the feed');
    // Each turn starts from the state the one before committed; the failed try committed nothing.
    expect(seen).toEqual([
      { id: 'a:1', count: undefined },
      { id: 'a:2', count: '1' },
      { id: 'a:2', count: '1' },
      { id: 'a:3', count: '2' },
    ]);
    expect(received.map((message) => message.inReplyTo)).toEqual(['a:1', 'a:2', 'a:3']);
    await waitFor(async () => (await bus.pending()) === 0, 'the inbox to empty');
    const saved = await states.load(conversationKey(inbound('a', 1).ref));
    expect(saved?.slots.count).toBe('3');
    expect(saved?.handledEventIds).toEqual(['a:3']);
  });

  it('answers ping while open', async () => {
    const bus = await world.bus();
    await expect(bus.ping()).resolves.toBeUndefined();
  });

  it('fans outbound messages out to every subscriber of the feed', async () => {
    const publisher = await world.feed();
    const receiver = await world.feed();
    const first: OutboundMessage[] = [];
    const second: OutboundMessage[] = [];
    const unsubscribeFirst = await receiver.subscribe((message) => first.push(message));
    await receiver.subscribe(() => {
      throw new Error('a broken listener must not stop the others');
    });
    await receiver.subscribe((message) => second.push(message));
    const message: OutboundMessage = {
      id: 'a:1#0',
      ref: { channel: 'webchat', tenant: 'default', conversation: 'a' },
      inReplyTo: 'a:1',
      content: { type: 'choices', text: '请选择 / choose', choices: [{ id: 'yes', title: 'Yes' }] },
      createdAt: new Date().toISOString(),
      source: 'flow',
    };
    await publisher.publish(message);
    await waitFor(() => first.length === 1 && second.length === 1, 'both subscribers');
    expect(first[0]).toEqual(message);
    expect(second[0]).toEqual(message);
    await unsubscribeFirst();
    await publisher.publish({ ...message, id: 'a:1#1' });
    await waitFor(() => second.length === 2, 'the second message');
    await sleep(30);
    expect(first).toHaveLength(1);
  });
});

describe.each(drivers.filter((driver) => driver !== 'memory'))(
  'BullMQ bus across processes: %s',
  (driver) => {
    let world: World;
    let shared: TestCluster | undefined;
    beforeAll(async () => {
      shared = driver === 'redis-cluster' ? await testCluster() : undefined;
      world = new World(driver, shared);
    }, 60_000);
    afterEach(async () => {
      await world.dispose();
      world = new World(driver, shared);
    });

    it('remembers accepted event ids across restarts and replicas', async () => {
      const first = await world.bus();
      expect(await first.publish(inbound('a', 1))).toEqual({ accepted: true });
      await first.close();
      const second = await world.bus();
      const replica = await world.bus();
      expect(await second.publish(inbound('a', 1))).toEqual({ accepted: false });
      expect(await replica.publish(inbound('a', 1))).toEqual({ accepted: false });
      expect(await second.pending()).toBe(1);
    });

    it('keeps order per conversation with several consumers on the same queue', async () => {
      const recorder = new Recorder();
      const consumers = await Promise.all([1, 2, 3].map(() => world.bus({ concurrency: 2 })));
      const workedBy = new Set<number>();
      await Promise.all(
        consumers.map((bus, index) =>
          bus.consume(
            recorder.handler(async () => {
              workedBy.add(index);
              await sleep(Math.random() * 5);
            }),
          ),
        ),
      );
      const conversations = ['a', 'b', 'c', 'd', 'e', 'f'];
      const publisher = consumers[0] as EventBus;
      for (let n = 1; n <= 15; n++) {
        await Promise.all(conversations.map((conversation) => publisher.publish(inbound(conversation, n))));
      }
      await waitFor(() => recorder.count() === 90, 'all 90 events', 20_000);
      for (const conversation of conversations) {
        expect(recorder.ids(conversation)).toEqual(
          Array.from({ length: 15 }, (_, i) => `${conversation}:${i + 1}`),
        );
      }
      expect(recorder.maxInFlightPerConversation).toBe(1);
      expect(workedBy.size).toBeGreaterThan(1);
    });

    it('delivers events whose BullMQ job was lost (e.g. the publisher died before adding it)', async () => {
      const publisher = await world.bus();
      await publisher.publish(inbound('a', 1));
      await publisher.publish(inbound('a', 2));
      const queue = new Queue(world.queue, {
        connection: world.cluster?.client ?? { url: REDIS_URL },
        prefix: bullPrefix(world.keyPrefix, Boolean(world.cluster)),
      });
      await queue.obliterate({ force: true });
      await queue.close();
      const consumer = await world.bus({ lockTtlMs: 300 });
      const recorder = new Recorder();
      await consumer.consume(recorder.handler());
      await waitFor(() => recorder.count() === 2, 'the stranded events', 5_000);
      expect(recorder.ids('a')).toEqual(['a:1', 'a:2']);
    });

    it('keeps the lease of a handler that runs for several lease TTLs: no other consumer takes the conversation', async () => {
      // A lease short enough to expire several times over the call, long enough that a loaded
      // machine's event loop still renews it in time (renewals every third of it).
      const lockTtlMs = 300 * SLACK;
      const settings = { lockTtlMs, stalledIntervalMs: 100, concurrency: 2 };
      const recorder = new Recorder();
      const consumers = await Promise.all([world.bus(settings), world.bus(settings)]);
      // A long model call: four TTLs, renewed by the lease's heartbeat all along.
      await Promise.all(consumers.map((bus) => bus.consume(recorder.handler(() => sleep(4 * lockTtlMs)))));
      await consumers[0]?.publish(inbound('a', 1));
      await consumers[0]?.publish(inbound('a', 2));
      await waitFor(() => recorder.count() === 2, 'both events', 20_000);
      expect(recorder.deliveries.map((d) => d.id)).toEqual(['a:1', 'a:2']);
      expect(recorder.attempts('a:1')).toEqual([1]);
      expect(recorder.maxInFlightPerConversation).toBe(1);
      expect(recorder.deliveries.every(({ ctx }) => !ctx.signal.aborted)).toBe(true);
    });

    it('adds one BullMQ job per conversation that becomes ready, not one per event', async () => {
      const bus = await world.bus();
      for (let n = 1; n <= 5; n++) await bus.publish(inbound('a', n));
      await bus.publish(inbound('b', 1));
      const queue = new Queue(world.queue, {
        connection: world.redis(),
        prefix: bullPrefix(world.keyPrefix, Boolean(world.cluster)),
      });
      try {
        const counts = await queue.getJobCounts('waiting', 'delayed', 'active', 'prioritized');
        expect(Object.values(counts).reduce((sum, n) => sum + n, 0)).toBe(2);
        const recorder = new Recorder();
        await bus.consume(recorder.handler());
        await waitFor(() => recorder.count() === 6, 'six events');
        expect(recorder.ids('a')).toEqual(['a:1', 'a:2', 'a:3', 'a:4', 'a:5']);
        // Drained to empty, the conversation is ready again with its next event: one job more.
        await waitFor(
          async () => (await queue.getJobCounts('completed', 'active', 'waiting')).active === 0,
          'the jobs to end',
        );
        await bus.publish(inbound('a', 6));
        await waitFor(() => recorder.count() === 7, 'the seventh event');
        expect(recorder.ids('a').at(-1)).toBe('a:6');
      } finally {
        await queue.close();
      }
    });

    it('commits nothing from a holder that was taken over: no state, no feed message, the head stays', async () => {
      const bus = await world.bus({ lockTtlMs: 1_000, backoffMs: 10 });
      const states = await world.states();
      const feed = await world.feed();
      const received: OutboundMessage[] = [];
      await feed.subscribe((message) => received.push(message));
      const conversation = conversationKey(inbound('a', 1).ref);
      const fence = `${world.shardOf(conversation)}:fence:${conversation}`;
      const startStates: Array<DialogState | undefined> = [];
      await bus.consume(
        async (event, ctx) => {
          const turn = ctx.turn;
          if (!turn) throw new Error('no TurnCommit');
          startStates.push(turn.state);
          const stale = ctx.attempt === 1;
          turn.saveState({
            conversationKey: conversation,
            slots: { by: stale ? 'stale' : 'successor' },
            history: [],
            handoff: 'bot',
            handledEventIds: [event.id],
            updatedAt: new Date().toISOString(),
          });
          turn.publish(reply(event.id, stale ? 'stale' : 'successor'));
          // A newer holder took the conversation meanwhile (its token is above ours).
          if (stale) await world.redis().set(fence, String(ctx.fencingToken + 1_000));
        },
        { commit: { states, feed } },
      );
      await bus.publish(inbound('a', 1));
      await waitFor(() => received.length === 1, 'the redelivery to commit');
      await sleep(50);
      expect(received.map((message) => message.content)).toEqual([{ type: 'text', text: 'successor' }]);
      // The redelivery started from no state: the stale holder's never landed.
      expect(startStates).toEqual([undefined, undefined]);
      expect((await states.load(conversation))?.slots.by).toBe('successor');
    });

    it('hands a turn the state kept before this layout (clear copy, or a cluster key of its own slot) and replaces it with the first save', async () => {
      const bus = await world.bus();
      const states = await world.states();
      const feed = await world.feed();
      const conversation = conversationKey(inbound('a', 1).ref);
      const old: DialogState = {
        conversationKey: conversation,
        slots: { from: 'before' },
        history: [],
        handoff: 'bot',
        handledEventIds: [],
        updatedAt: new Date().toISOString(),
      };
      const clearKey = `${world.keyPrefix}:state:${conversation}`;
      if (world.cluster) {
        const atRest = await world.atRest();
        // A store without the bus's slots: the layout before, each key under its own hash tag.
        await new RedisStateStore(world.redis(), { ttlMs: 60_000, keyPrefix: world.keyPrefix, atRest }).save(
          old,
        );
      } else {
        await world.redis().set(clearKey, JSON.stringify(old));
      }
      const seen: Array<Record<string, unknown> | undefined> = [];
      await bus.consume(
        async (event, ctx) => {
          seen.push(ctx.turn?.state?.slots);
          ctx.turn?.saveState({ ...old, slots: { from: event.id } });
        },
        { commit: { states, feed } },
      );
      await bus.publish(inbound('a', 1));
      await waitFor(() => seen.length === 1, 'the first turn');
      await waitFor(async () => (await states.load(conversation))?.slots.from === 'a:1', 'its state');
      if (!world.cluster) expect(await world.redis().exists(clearKey)).toBe(0);
      await bus.publish(inbound('a', 2));
      await waitFor(() => seen.length === 2, 'the second turn');
      expect(seen).toEqual([{ from: 'before' }, { from: 'a:1' }]);
    });

    it('aborts the signal when the conversation lock is lost, and the next holder redelivers in order', async () => {
      const bus = await world.bus({ lockTtlMs: 300, backoffMs: 10 });
      const recorder = new Recorder();
      let abortedAt = 0;
      await bus.consume(
        recorder.handler(async (event, ctx) => {
          if (event.id !== 'a:1' || ctx.attempt > 1) return;
          await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve, { once: true }));
          abortedAt = Date.now();
          throw ctx.signal.reason;
        }),
      );
      await bus.publish(inbound('a', 1));
      await bus.publish(inbound('a', 2));
      await waitFor(() => recorder.deliveries.length === 1, 'the first delivery');
      // As if the lease had lapsed (a long GC pause): the holder must notice at its next renewal and stop.
      const lostAt = Date.now();
      const conversation = conversationKey(inbound('a', 1).ref);
      await world.redis().del(`${world.shardOf(conversation)}:lock:${conversation}`);
      await waitFor(() => abortedAt > 0 && recorder.count() === 2, 'the abort and both events', 5_000);
      expect(abortedAt - lostAt).toBeLessThan(300);
      expect(recorder.attempts('a:1')).toEqual([1, 2]);
      expect(recorder.ids('a')).toEqual(['a:1', 'a:2']);
      const tokens = recorder.deliveries.filter((d) => d.id === 'a:1').map(({ ctx }) => ctx.fencingToken);
      expect(tokens[1]).toBeGreaterThan(tokens[0] ?? Number.POSITIVE_INFINITY);
    });

    async function runUntilKilled(settings: BusSettings, hangOn: string): Promise<void> {
      const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', CRASH_WORKER], {
        env: {
          ...process.env,
          BUS_CONFIG: JSON.stringify(world.configInput(settings)),
          KEY_PREFIX: world.keyPrefix,
          HANG_ON: hangOn,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout?.on('data', (chunk) => {
        output += chunk;
      });
      child.stderr?.on('data', (chunk) => {
        output += chunk;
      });
      const exited = new Promise((resolve) => child.once('exit', resolve));
      try {
        await waitFor(() => output.includes(`HANG ${hangOn}`), `the child to hang on ${hangOn}`, 15_000);
      } catch (error) {
        child.kill('SIGKILL');
        throw new Error(`${(error as Error).message}; child output:\n${output}`);
      }
      child.kill('SIGKILL');
      await exited;
    }

    async function handledLog(): Promise<Array<{ id: string; attempt: number; by: string }>> {
      return (await world.redis().lrange(`${world.keyPrefix}:handled`, 0, -1)).map((json) =>
        JSON.parse(json),
      );
    }

    function firstSeen(log: Array<{ id: string }>, conversation: string): string[] {
      return [...new Set(log.map((entry) => entry.id).filter((id) => id.startsWith(`${conversation}:`)))];
    }

    it('redelivers the event of a worker killed mid-handler, keeping order and losing nothing', async () => {
      const settings = { lockTtlMs: 1_000, concurrency: 2, maxAttempts: 3 };
      const publisher = await world.bus(settings);
      for (let n = 1; n <= 6; n++) await publisher.publish(inbound('a', n));
      for (let n = 1; n <= 4; n++) await publisher.publish(inbound('b', n));
      await runUntilKilled(settings, 'a:3');

      const restarted = await world.bus(settings);
      const log = world.cluster ? undefined : new Redis(REDIS_URL);
      await restarted.consume(async (event, ctx) => {
        await (log ?? world.redis()).rpush(
          `${world.keyPrefix}:handled`,
          JSON.stringify({ id: event.id, attempt: ctx.attempt, by: 'parent' }),
        );
      });
      try {
        await waitFor(async () => (await restarted.pending()) === 0, 'every event to be handled', 15_000);
      } finally {
        await log?.quit();
      }
      const handled = await handledLog();
      expect(firstSeen(handled, 'a')).toEqual(['a:1', 'a:2', 'a:3', 'a:4', 'a:5', 'a:6']);
      expect(firstSeen(handled, 'b')).toEqual(['b:1', 'b:2', 'b:3', 'b:4']);
      // The attempt that died with the child counts: the redelivery is attempt 2.
      expect(handled.find((entry) => entry.id === 'a:3')).toEqual({ id: 'a:3', attempt: 2, by: 'parent' });
      expect(await restarted.deadLetters()).toEqual([]);
    });

    it('dead-letters an event that killed its worker on every attempt, and goes on', async () => {
      const settings = { lockTtlMs: 1_000, maxAttempts: 1 };
      const publisher = await world.bus(settings);
      for (let n = 1; n <= 3; n++) await publisher.publish(inbound('a', n));
      await runUntilKilled(settings, 'a:2');

      const restarted = await world.bus(settings);
      const recorder = new Recorder();
      await restarted.consume(recorder.handler());
      await waitFor(() => recorder.ids('a').includes('a:3'), 'the event after the poison one', 15_000);
      expect(recorder.attempts('a:2')).toEqual([]);
      const letters = await restarted.deadLetters();
      expect(letters.map((letter) => [letter.event.id, letter.attempts])).toEqual([['a:2', 1]]);
      expect(letters[0]?.error).toMatch(/worker stopped/);
    });

    it('fails fast with a config error when Redis is unreachable', async () => {
      const config = parseConfig({
        redis: { url: 'redis://:secret@127.0.0.1:1' },
        bus: { driver: 'bullmq' },
      });
      const failure = createBus(config);
      await expect(failure).rejects.toMatchObject({ code: 'config.redis_unreachable' });
      await expect(failure).rejects.not.toThrow(/secret/);
      await expect(createFeed(config)).rejects.toMatchObject({ code: 'config.redis_unreachable' });
      const cluster = parseConfig({
        redis: { cluster: { nodes: ['redis://:secret@127.0.0.1:1'] } },
        bus: { driver: 'bullmq' },
      });
      const clusterFailure = createBus(cluster);
      await expect(clusterFailure).rejects.toMatchObject({ code: 'config.redis_unreachable' });
      await expect(clusterFailure).rejects.toThrow(/Redis Cluster at redis:\/\/:\*\*\*@127\.0\.0\.1:1/);
    });
  },
);

describe.runIf(redisClusterAvailable)('BullMQ bus on Redis Cluster through a failover', () => {
  let world: World;
  beforeAll(async () => {
    world = new World('redis-cluster', await testCluster());
  }, 60_000);
  afterAll(async () => {
    await world?.dispose();
  });

  it('loses nothing and keeps each conversation in order when a master is killed mid-run', async () => {
    const shared = await testCluster();
    // The shipped lease (3 s) outlasts the failover (node timeout 1 s plus an election).
    const bus = await world.bus({ concurrency: 4, lockTtlMs: 3_000 });
    const completed: string[] = [];
    await bus.consume(async (event) => {
      await sleep(Math.random() * 5);
      completed.push(event.id);
    });
    const conversations = ['a', 'b', 'c', 'd', 'e', 'f'];
    // Like a platform resending after a 503: publish until the bus answers (a duplicate counts as accepted).
    const publish = async (event: InboundEvent) => {
      for (let tries = 0; ; tries++) {
        try {
          return await bus.publish(event);
        } catch (error) {
          if (tries > 100) throw error;
          await sleep(100);
        }
      }
    };
    const rounds = 20;
    let killed = 0;
    let failoverMs = 0;
    for (let n = 1; n <= rounds; n++) {
      await Promise.all(conversations.map((conversation) => publish(inbound(conversation, n))));
      if (n === 8) {
        // The master of conversation "a"'s shard dies with work in flight; its replica takes over.
        await waitFor(() => completed.length >= 20, 'work in flight before the kill');
        const keys = new BusKeys(`${world.keyPrefix}:bus:${world.queue}`, 4, true);
        const killedAt = Date.now();
        killed = await shared.killMasterOf(`${keys.of(conversationKey(inbound('a', 1).ref))}:inbox`);
        failoverMs = Date.now() - killedAt;
      }
      await sleep(20);
    }
    const total = conversations.length * rounds;
    await waitFor(() => new Set(completed).size === total, `all ${total} events`, 60_000);
    await waitFor(async () => (await bus.pending()) === 0, 'pending to drop to 0', 30_000);
    expect(killed).toBeGreaterThan(0);
    for (const conversation of conversations) {
      const mine = completed.filter((id) => id.startsWith(`${conversation}:`));
      const firsts = [...new Set(mine)];
      expect(firsts).toEqual(Array.from({ length: rounds }, (_, i) => `${conversation}:${i + 1}`));
      // At-least-once: an event whose settling the failover cut off is handled again at once, never
      // one from further back (a repeat always follows its first run directly).
      mine.forEach((id, i) => {
        if (mine.indexOf(id) !== i) expect(mine[i - 1]).toBe(id);
      });
    }
    const repeats = completed.length - total;
    console.log(
      `[redis-cluster] master :${killed} killed, replica serving after ${failoverMs} ms: ${total} events, ${repeats} handled twice`,
    );
    expect(await bus.deadLetters()).toEqual([]);
  }, 120_000);
});
