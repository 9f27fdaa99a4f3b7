import { createServer, type Server, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { reportBusBacklog } from '../../core/bus/backlog-gauge';
import { hubConfigSchema } from '../../core/config/schema';
import { runChecks } from '../../core/http/health';
import { buildServer, type ReadinessCheck } from '../../core/http/server';
import type { EventBus } from '../../core/types';

/** Issue 18: a readiness check that hangs reads "down: timeout after <n> ms"; /readyz never hangs. */
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A server that accepts connections and never answers: a paused Redis, as the client sees it. */
async function silentServer(): Promise<{ port: number; accepted: () => number }> {
  const sockets: Socket[] = [];
  const server: Server = createServer((socket) => {
    sockets.push(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  );
  const address = server.address();
  return { port: typeof address === 'object' && address ? address.port : 0, accepted: () => sockets.length };
}

describe('readiness check timeouts', () => {
  it('answers /readyz 503 within the configured timeout while Redis accepts and never answers', async () => {
    const silent = await silentServer();
    const redis = new Redis(silent.port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: null });
    redis.on('error', () => {});
    cleanups.push(async () => redis.disconnect());
    const config = hubConfigSchema.parse({ server: { readinessTimeoutMs: 300 } });
    const readiness: ReadinessCheck[] = [
      { name: 'database', check: async () => {} },
      {
        name: 'bus',
        check: async () => {
          await redis.ping();
        },
      },
    ];
    const app = await buildServer({ config, connectors: [], readiness });
    cleanups.push(() => app.close());

    const started = Date.now();
    const ready = await app.inject('/readyz');
    const tookMs = Date.now() - started;
    expect(silent.accepted()).toBe(1);
    expect(ready.statusCode).toBe(503);
    expect(ready.json()).toEqual({
      status: 'not ready',
      checks: { database: 'ok', bus: 'down: timeout after 300 ms' },
    });
    expect(tookMs).toBeGreaterThanOrEqual(290);
    expect(tookMs).toBeLessThan(3_000);

    const metrics = (await app.inject('/metrics')).body;
    expect(metrics).toContain('hub_readiness_up{check="bus"} 0');
    expect(metrics).toContain('hub_readiness_up{check="database"} 1');
  });

  it('answers /metrics while the bus behind hub_bus_backlog does not answer', async () => {
    const hung = { pending: () => new Promise<number>(() => {}) } as unknown as EventBus;
    cleanups.push(reportBusBacklog(hung));
    const app = await buildServer({ config: hubConfigSchema.parse({}), connectors: [], readiness: [] });
    cleanups.push(() => app.close());
    const started = Date.now();
    const metrics = await app.inject('/metrics');
    expect(metrics.statusCode).toBe(200);
    expect(metrics.body).toContain('hub_bus_backlog');
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('defaults to 1000 ms per check', () => {
    expect(hubConfigSchema.parse({}).server.readinessTimeoutMs).toBe(1_000);
  });

  it('lets probes share a check still in flight instead of piling up calls to a hung dependency', async () => {
    let calls = 0;
    let release: () => void = () => {};
    const hung: ReadinessCheck = {
      name: 'bus',
      check: () => {
        calls++;
        return new Promise<void>((resolve) => {
          release = resolve;
        });
      },
    };
    expect(await runChecks([hung], 50)).toEqual([['bus', 'down: timeout after 50 ms']]);
    expect(await runChecks([hung], 50)).toEqual([['bus', 'down: timeout after 50 ms']]);
    expect(calls).toBe(1);
    release();
    expect(await runChecks([hung], 50)).toEqual([['bus', 'ok']]);
    // Once it settled, the next probe runs the check afresh.
    const next = runChecks([hung], 50);
    await new Promise((resolve) => setImmediate(resolve)); // the check starts on the next tick
    release();
    expect(await next).toEqual([['bus', 'ok']]);
    expect(calls).toBe(2);
  });

  it('reports a check that throws before returning a promise as down, with its reason', async () => {
    const broken: ReadinessCheck = {
      name: 'database',
      check: () => {
        throw new Error('pool is closed');
      },
    };
    expect(await runChecks([broken], 50)).toEqual([['database', 'down: pool is closed']]);
  });
});
