import { afterEach, describe, expect, it } from 'vitest';
import { shutdownTimeoutMs, stopWithin } from '../../app/shutdown';
import { startWorkerOps } from '../../app/worker-ops';
import { MemoryBus, policyFromConfig } from '../../core/bus';
import { reportBusBacklog } from '../../core/bus/backlog-gauge';
import { hubConfigSchema } from '../../core/config/schema';
import { buildServer, type ReadinessCheck } from '../../core/http/server';
import type { InboundEvent } from '../../core/types/events';
import { openTestStore } from '../support/postgres';

/**
 * Readiness decides on the pod's own dependencies only (database, bus); a platform outage shows on
 * /healthz/channels and /metrics for alerting. Workers scale on hub_bus_backlog.
 */
const config = hubConfigSchema.parse({});
const up = (name: string): ReadinessCheck => ({ name, check: async () => {} });
const down = (name: string, why: string): ReadinessCheck => ({
  name,
  check: async () => {
    throw new Error(why);
  },
});

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function server(readiness: ReadinessCheck[], channelHealth: ReadinessCheck[]) {
  const app = await buildServer({ config, connectors: [], readiness, channelHealth });
  cleanups.push(() => app.close());
  return app;
}

function inbound(conversation: string, n: number): InboundEvent {
  return {
    id: `${conversation}:${n}`,
    kind: 'message',
    ref: { channel: 'test', tenant: 'default', conversation },
    sender: { id: 'customer-1' },
    receivedAt: new Date().toISOString(),
    text: `message ${n}`,
  };
}

describe('readiness and channel health', () => {
  it('stays ready while a channel platform is down, and reports the channel on /healthz/channels', async () => {
    const app = await server([up('database'), up('bus')], [down('channel:tg', 'getMe: 401')]);
    const ready = await app.inject('/readyz');
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({
      status: 'ready',
      checks: { database: 'ok', bus: 'ok', 'channel:tg': 'down: getMe: 401' },
    });
    const channels = await app.inject('/healthz/channels');
    expect(channels.statusCode).toBe(503);
    expect(channels.json()).toEqual({ status: 'degraded', checks: { 'channel:tg': 'down: getMe: 401' } });
    const metrics = (await app.inject('/metrics')).body;
    expect(metrics).toContain('hub_readiness_up{check="channel:tg"} 0');
    expect(metrics).toContain('hub_readiness_up{check="database"} 1');
  });

  it('is not ready when its own database is down, whatever the channels say', async () => {
    const app = await server([down('database', 'connection refused'), up('bus')], [up('channel:tg')]);
    const ready = await app.inject('/readyz');
    expect(ready.statusCode).toBe(503);
    expect(ready.json()).toMatchObject({
      status: 'not ready',
      checks: { database: 'down: connection refused' },
    });
    expect((await app.inject('/healthz/channels')).statusCode).toBe(200);
    expect((await app.inject('/healthz')).statusCode).toBe(200);
  });
});

describe('hub_bus_backlog', () => {
  it('reports the events accepted and not yet handled, and drops to zero once they are handled', async () => {
    const bus = new MemoryBus(policyFromConfig(config.bus));
    cleanups.push(() => bus.close());
    cleanups.push(reportBusBacklog(bus));
    const app = await server([], []);
    for (let n = 1; n <= 3; n++) await bus.publish(inbound('backlog-a', n));
    await bus.publish(inbound('backlog-b', 1));
    expect((await app.inject('/metrics')).body).toMatch(/^hub_bus_backlog 4$/m);

    let handled = 0;
    await bus.consume(async () => {
      handled++;
    });
    await expect.poll(() => handled).toBe(4);
    await expect.poll(async () => (await app.inject('/metrics')).body).toMatch(/^hub_bus_backlog 0$/m);
  });
});

describe('shutdown deadline', () => {
  it('returns drained when the hub stops in time, timed_out when a turn hangs past the deadline', async () => {
    expect(await stopWithin({ stop: async () => {} }, 1_000)).toBe('drained');
    const started = Date.now();
    expect(await stopWithin({ stop: () => new Promise<void>(() => {}) }, 150)).toBe('timed_out');
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('reads HUB_SHUTDOWN_TIMEOUT_MS, and refuses a value that is not a whole number of ms with a fix', () => {
    expect(shutdownTimeoutMs({})).toBe(30_000);
    expect(shutdownTimeoutMs({ HUB_SHUTDOWN_TIMEOUT_MS: '45000' })).toBe(45_000);
    expect(() => shutdownTimeoutMs({ HUB_SHUTDOWN_TIMEOUT_MS: '30s' })).toThrow(
      /whole number of milliseconds/,
    );
  });
});

describe('worker health and metrics (HUB_WORKER_PORT)', () => {
  it('serves /healthz, /readyz from its database and bus, and /metrics; nothing without the variable', async () => {
    const { store, dispose } = await openTestStore('postgres', 'hub_worker_ops');
    cleanups.push(dispose);
    const bus = new MemoryBus(policyFromConfig(config.bus));
    cleanups.push(() => bus.close());
    expect(await startWorkerOps({ bus, store }, {})).toBeUndefined();
    const ops = await startWorkerOps({ bus, store }, { HUB_WORKER_PORT: '0' });
    if (!ops) throw new Error('no worker ops server');
    cleanups.push(() => ops.close());
    expect((await fetch(`${ops.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${ops.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', checks: { database: 'ok', bus: 'ok' } });
    expect(await (await fetch(`${ops.url}/metrics`)).text()).toContain('hub_readiness_up{check="bus"} 1');
    await bus.close();
    const closed = await fetch(`${ops.url}/readyz`);
    expect(closed.status).toBe(503);
    await expect(startWorkerOps({ bus, store }, { HUB_WORKER_PORT: 'metrics' })).rejects.toThrow(
      /port number/,
    );
  });
});
