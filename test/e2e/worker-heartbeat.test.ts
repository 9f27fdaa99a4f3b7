import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scratchDatabase } from '../support/postgres';
import { type HubProcess, startHubProcess, writeConfig } from './hub-process';

/**
 * A dead worker is visible from the api: an api and a worker process on the real Redis and
 * PostgreSQL. Killing the worker drops hub_workers_alive to 0 within the heartbeat's lifetime while
 * the api stays ready; messages accepted meanwhile age on hub_bus_oldest_message_age_seconds until a
 * new worker answers them.
 */
const suffix = randomBytes(4).toString('hex');
const keyPrefix = `hub-e2e-hb-${suffix}`;
const database = scratchDatabase('hub_e2e_hb');
const HEARTBEAT_MS = 500;

let api: HubProcess | undefined;
const workers: HubProcess[] = [];
let db: pg.Client;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
async function until(what: string, predicate: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  if (!line?.[1]) throw new Error(`${name} missing from ${url}/metrics`);
  return Number(line[1]);
}

const readyStatus = async (url: string) => (await fetch(`${url}/readyz`)).status;
const answered = async () =>
  Number((await db.query(`select count(*) from messages where direction = 'out'`)).rows[0].count);

beforeAll(async () => {
  await database.create();
  db = new pg.Client({ connectionString: database.url });
  await db.connect();
});

afterAll(async () => {
  await api?.stop();
  for (const worker of workers) await worker.stop('SIGKILL');
  await db?.end();
  await database.drop();
  const redis = new Redis(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379');
  for await (const keys of redis.scanStream({ match: `${keyPrefix}:*`, count: 500 })) {
    if ((keys as string[]).length > 0) await redis.del(...(keys as string[]));
  }
  await redis.quit();
});

describe('worker heartbeats seen from the api', () => {
  it('counts the worker, drops it when killed while /readyz stays 200, and shows messages ageing until a worker returns', async () => {
    const config = writeConfig({
      server: { replyTimeoutMs: 50, workerPort: 0 },
      redis: { keyPrefix },
      bus: { driver: 'bullmq', queue: `hb-${suffix}`, lockTtlMs: 2_000, heartbeatMs: HEARTBEAT_MS },
      state: { driver: 'redis' },
      database: { driver: 'postgres', url: database.url },
    });
    api = await startHubProcess(config, ['--role', 'api']);
    const apiUrl = api.url;
    const first = await startHubProcess(config, ['--role', 'worker']);
    workers.push(first);
    // server.workerPort: the worker-only process serves its own health and metrics.
    const opsUrl = /health and metrics on (\S+)/.exec(first.output())?.[1];
    if (!opsUrl) throw new Error(`the worker printed no ops URL:\n${first.output()}`);
    expect(await readyStatus(opsUrl)).toBe(200);
    expect(await metric(opsUrl, 'hub_workers_alive')).toBe(1);

    await until('one worker alive on the api', async () => (await metric(apiUrl, 'hub_workers_alive')) === 1);
    const post = async (sender: string, id: string) => {
      const response = await fetch(`${apiUrl}/webhooks/rest`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ sender, message: 'How long does shipping take?', message_id: id }),
      });
      expect([200, 202]).toContain(response.status);
    };
    await post('before', 'm1');
    await until('the first answer', async () => (await answered()) >= 1);
    // Stored is not yet settled: the bus removes the event after the handler returns.
    await until('the first event settled', async () => (await metric(apiUrl, 'hub_bus_backlog')) === 0);

    await first.stop('SIGKILL');
    const killedAt = Date.now();
    let notReady = 0;
    await until(
      'no worker alive',
      async () => {
        if ((await readyStatus(apiUrl)) !== 200) notReady++;
        return (await metric(apiUrl, 'hub_workers_alive')) === 0;
      },
      10_000,
    );
    const droppedAfterMs = Date.now() - killedAt;
    // A beat lives three intervals; the slack covers this test's polling and scrapes on a loaded
    // 2-core machine (a beat that never expired would fail at the 10 s wait above).
    expect(droppedAfterMs).toBeLessThanOrEqual(3 * HEARTBEAT_MS + 2_500);

    const answeredBefore = await answered();
    for (const sender of ['a', 'b', 'c']) await post(sender, 'm1');
    const ageAtFirstLook = await metric(apiUrl, 'hub_bus_oldest_message_age_seconds');
    await sleep(1_500);
    const ageLater = await metric(apiUrl, 'hub_bus_oldest_message_age_seconds');
    expect(ageLater).toBeGreaterThanOrEqual(ageAtFirstLook + 1.2);
    expect(await metric(apiUrl, 'hub_bus_backlog')).toBe(3);
    expect(await answered()).toBe(answeredBefore);
    if ((await readyStatus(apiUrl)) !== 200) notReady++;
    // The api's readiness is about the api: no worker does not take it out of service.
    expect(notReady).toBe(0);

    const restartedAt = Date.now();
    workers.push(await startHubProcess(config, ['--role', 'worker']));
    await until(
      'the waiting messages answered',
      async () => (await metric(apiUrl, 'hub_bus_oldest_message_age_seconds')) === 0,
    );
    const caughtUpAfterMs = Date.now() - restartedAt;
    expect(await metric(apiUrl, 'hub_workers_alive')).toBe(1);
    expect(await metric(apiUrl, 'hub_bus_backlog')).toBe(0);
    await until('three more answers', async () => (await answered()) >= answeredBefore + 3);
    console.log(
      `[heartbeat] ${JSON.stringify({ heartbeatMs: HEARTBEAT_MS, droppedAfterMs, ageAtFirstLook, ageLater, caughtUpAfterMs })}`,
    );
  }, 180_000);
});
