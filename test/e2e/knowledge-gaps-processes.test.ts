import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scratchDatabase } from '../support/postgres';
import { ask, type HubProcess, startHubProcess, writeConfig } from './hub-process';

/**
 * A knowledge entry published on the api process reaches a worker in another process (it polls the
 * published drafts) and survives the worker's restart: an api and a worker on the real PostgreSQL
 * and Redis (BullMQ bus).
 */
const suffix = randomBytes(4).toString('hex');
const keyPrefix = `hub-e2e-kg-${suffix}`;
const database = scratchDatabase('hub_e2e_kg');
const ADMIN_TOKEN = `kg-admin-${suffix}-0000000000000000`;

let api: HubProcess | undefined;
const workers: HubProcess[] = [];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  await database.create();
});

afterAll(async () => {
  await api?.stop();
  for (const worker of workers) await worker.stop('SIGKILL');
  await database.drop();
  const redis = new Redis(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379');
  for await (const keys of redis.scanStream({ match: `${keyPrefix}:*`, count: 500 })) {
    if ((keys as string[]).length > 0) await redis.del(...(keys as string[]));
  }
  await redis.quit();
});

async function admin(url: string, method: string, path: string, body?: unknown) {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${ADMIN_TOKEN}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

const QUESTION = 'Can I bring my dog into the showroom?';
const ANSWER = 'Dogs on a lead are welcome in every showroom; ask at the desk for a water bowl.';

describe('a published entry across processes', () => {
  it('reaches a worker of another process within its poll, and is there again after the worker restarts', async () => {
    const config = writeConfig({
      server: { replyTimeoutMs: 30_000 },
      redis: { keyPrefix },
      bus: { driver: 'bullmq', queue: `kg-${suffix}` },
      state: { driver: 'redis' },
      database: { driver: 'postgres', url: database.url },
    });
    const env = { HUB_ADMIN_TOKEN: ADMIN_TOKEN };
    api = await startHubProcess(config, ['--role', 'api'], env);
    workers.push(await startHubProcess(config, ['--role', 'worker'], env));
    const apiUrl = api.url;

    const before = await ask(apiUrl, 'dog-1', QUESTION);
    expect(before.replies[0]?.text).toMatch(/could not find an answer|don't know/i);

    const created = await admin(apiUrl, 'POST', '/admin/knowledge/drafts', {
      tenant: 'default',
      language: 'en',
      title: QUESTION,
      questions: ['Are dogs allowed in your showroom?'],
      answer: ANSWER,
    });
    expect(created.status).toBe(201);
    const published = await admin(apiUrl, 'POST', `/admin/knowledge/drafts/${created.body.id}/publish`, {});
    expect(published.status).toBe(200);
    const publishedAt = Date.now();

    // The worker is another process: it takes the entry in at its next poll (every 2 s).
    let reachedAfterMs = -1;
    for (let i = 0; Date.now() - publishedAt < 30_000; i++) {
      const { replies } = await ask(apiUrl, `dog-poll-${i}`, QUESTION);
      if (replies[0]?.text.includes('water bowl')) {
        reachedAfterMs = Date.now() - publishedAt;
        expect(replies[0]?.citations?.[0]?.id).toBe(`kb-draft-${created.body.id}#entry`);
        break;
      }
      await sleep(200);
    }
    expect(reachedAfterMs).toBeGreaterThanOrEqual(0);

    // A new worker process loads it from the database at start.
    await workers[0]?.stop();
    workers.push(await startHubProcess(config, ['--role', 'worker'], env));
    const after = await ask(apiUrl, 'dog-2', 'Are dogs allowed in your showroom?');
    expect(after.replies[0]?.text).toContain('water bowl');
    console.log(`[knowledge-gaps] ${JSON.stringify({ reachedOtherProcessAfterMs: reachedAfterMs })}`);
  }, 240_000);
});
