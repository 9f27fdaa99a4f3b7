import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startWorkerOps } from '../../app/worker-ops';
import { MemoryBus, policyFromConfig } from '../../core/bus';
import { reportWorkersAlive } from '../../core/bus/backlog-gauge';
import {
  createWorkerHeartbeats,
  MemoryHeartbeats,
  startHeartbeat,
  type WorkerHeartbeats,
} from '../../core/bus/heartbeats';
import { hubConfigSchema } from '../../core/config/schema';
import { registry } from '../../core/metrics';
import { openTestStore } from '../support/postgres';

/**
 * Dead workers are visible: each worker process beats (Redis when the hub runs on Redis), any process
 * counts the fresh beats as hub_workers_alive, and a worker-only process serves its own health and
 * metrics on HUB_WORKER_PORT or `server.workerPort`.
 */
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const keyPrefix = `test-heartbeats-${randomUUID()}`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
afterAll(async () => {
  const admin = new Redis(REDIS_URL);
  const keys = await admin.keys(`${keyPrefix}:*`);
  if (keys.length > 0) await admin.del(...keys);
  await admin.quit();
});

async function workersAliveMetric(): Promise<number> {
  const text = await registry.metrics();
  const line = /^hub_workers_alive (\d+)$/m.exec(text);
  if (!line?.[1]) throw new Error(`hub_workers_alive missing from:\n${text}`);
  return Number(line[1]);
}

describe.each([
  ['memory', { bus: { driver: 'memory' }, state: { driver: 'memory' } }],
  ['redis', { redis: { url: REDIS_URL }, bus: { driver: 'bullmq' } }],
] as const)('worker heartbeats on %s', (driver, input) => {
  async function open(): Promise<WorkerHeartbeats> {
    const heartbeats = await createWorkerHeartbeats(hubConfigSchema.parse(input), {
      keyPrefix: `${keyPrefix}-${driver}`,
    });
    cleanups.push(() => heartbeats.close());
    return heartbeats;
  }

  it('counts a beat until its time to live is over', async () => {
    const heartbeats = await open();
    if (driver === 'memory') expect(heartbeats).toBeInstanceOf(MemoryHeartbeats);
    expect(await heartbeats.alive()).toBe(0);
    await heartbeats.beat('w1', 300);
    await heartbeats.beat('w2', 1_500);
    expect(await heartbeats.alive()).toBe(2);
    await sleep(400);
    expect(await heartbeats.alive()).toBe(1);
    await heartbeats.forget('w2');
    expect(await heartbeats.alive()).toBe(0);
  });

  it('keeps a running worker counted, drops it at once when it stops, and reports it on /metrics', async () => {
    const heartbeats = await open();
    cleanups.push(reportWorkersAlive(heartbeats));
    const heartbeat = await startHeartbeat(heartbeats, 250);
    // Longer than one beat lives (3 × 250 ms): only the repeated beats keep it alive.
    await sleep(1_200);
    expect(await heartbeats.alive()).toBe(1);
    expect(await workersAliveMetric()).toBe(1);
    await heartbeat.stop();
    expect(await heartbeats.alive()).toBe(0);
    expect(await workersAliveMetric()).toBe(0);
  });

  it('shares the count between processes only through Redis', async () => {
    const a = await open();
    const b = await open();
    await a.beat('worker-of-a', 5_000);
    expect(await b.alive()).toBe(driver === 'redis' ? 1 : 0);
  });
});

describe('worker health server port', () => {
  it('listens on server.workerPort, and HUB_WORKER_PORT wins over it', async () => {
    const { store, dispose } = await openTestStore('pglite');
    cleanups.push(dispose);
    const bus = new MemoryBus(policyFromConfig(hubConfigSchema.parse({}).bus));
    cleanups.push(() => bus.close());
    const config = hubConfigSchema.parse({ server: { workerPort: 0 } });
    expect(config.server.workerPort).toBe(0);
    expect(hubConfigSchema.parse({}).server.workerPort).toBeUndefined();

    const fromConfig = await startWorkerOps({ bus, store, workerPort: config.server.workerPort }, {});
    if (!fromConfig) throw new Error('server.workerPort started no server');
    cleanups.push(() => fromConfig.close());
    expect((await fetch(`${fromConfig.url}/readyz`)).status).toBe(200);

    const taken = Number(new URL(fromConfig.url).port);
    // The variable wins: the configured port is taken, yet this one starts on a free port.
    const fromEnv = await startWorkerOps({ bus, store, workerPort: taken }, { HUB_WORKER_PORT: '0' });
    if (!fromEnv) throw new Error('HUB_WORKER_PORT started no server');
    cleanups.push(() => fromEnv.close());
    expect(fromEnv.url).not.toBe(fromConfig.url);
    expect((await fetch(`${fromEnv.url}/healthz`)).status).toBe(200);

    expect(() => hubConfigSchema.parse({ server: { workerPort: 70_000 } })).toThrow();
    // Opens an embedded database and two servers: generous for a loaded machine.
  }, 120_000);
});
