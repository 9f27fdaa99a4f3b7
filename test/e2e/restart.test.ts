import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OpenAiEmulator, startOpenAiEmulator } from '../emulators/openai-emulator';
import { shareDataKeys } from '../support/data-keys';
import { type HubProcess, SAMPLE_QUESTIONS, startHubProcess, writeConfig } from './hub-process';

/** The hub keeps conversation keys as keyed hashes: the test shares its data keys to find them. */
const dataKeys = shareDataKeys();

const ADMIN_URL = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const suffix = randomBytes(4).toString('hex');
const database = `hub_e2e_${suffix}`;
const databaseUrl = ADMIN_URL.replace(/\/[^/]*$/, `/${database}`);
const CONVERSATIONS = 4;
const MESSAGES_EACH = 6;
const questions = SAMPLE_QUESTIONS;

let llm: OpenAiEmulator;
let api: HubProcess;
let db: pg.Client;
const workers: HubProcess[] = [];

const until = async (what: string, predicate: () => Promise<boolean>, timeoutMs = 60_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
};

const countRows = async (direction: 'in' | 'out') =>
  Number((await db.query('select count(*) from messages where direction = $1', [direction])).rows[0].count);

beforeAll(async () => {
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`create database ${database}`);
  await admin.end();
  db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  // Slow answers keep the worker busy mid-conversation when it is killed.
  llm = await startOpenAiEmulator({ latencyMs: 150 });
});

afterAll(async () => {
  await api?.stop();
  for (const worker of workers) await worker.stop('SIGKILL');
  await llm?.close();
  await db?.end();
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`drop database if exists ${database} with (force)`);
  await admin.end();
  const redis = new Redis(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379');
  for await (const keys of redis.scanStream({ match: `hub-e2e-${suffix}:*`, count: 500 })) {
    if ((keys as string[]).length > 0) await redis.del(...(keys as string[]));
  }
  await redis.quit();
});

describe('BullMQ bus on Redis, PostgreSQL transcripts, separate API and worker processes', () => {
  it('answers every accepted message exactly once and in order when the worker is killed and restarted', async () => {
    const config = writeConfig({
      server: { replyTimeoutMs: 50 },
      redis: { keyPrefix: `hub-e2e-${suffix}` },
      bus: { driver: 'bullmq', queue: `e2e-${suffix}`, lockTtlMs: 2000, backoffMs: 100, concurrency: 8 },
      state: { driver: 'redis' },
      database: { driver: 'postgres', url: databaseUrl },
      llm: { enabled: true, baseUrl: llm.url, timeoutMs: 5000 },
    });
    api = await startHubProcess(config, ['--role', 'api']);
    workers.push(await startHubProcess(config, ['--role', 'worker']));

    const sent: string[][] = Array.from({ length: CONVERSATIONS }, () => []);
    const post = async (conversation: number, index: number) => {
      const sender = `customer-${conversation}`;
      const messageId = `m${index}`;
      const response = await fetch(`${api.url}/webhooks/rest`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ sender, message: questions[index % questions.length], message_id: messageId }),
      });
      expect([200, 202]).toContain(response.status);
      sent[conversation]?.push(`rest:${sender}:${messageId}`);
    };
    for (let index = 0; index < MESSAGES_EACH; index++) {
      await Promise.all(Array.from({ length: CONVERSATIONS }, (_, c) => post(c, index)));
      if (index === 1) {
        // Kill the worker while it is in the middle of the conversations, then start a new one.
        await until('some answers', async () => (await countRows('out')) >= 3);
        await workers[0]?.stop('SIGKILL');
        // Accepted but unanswered messages existed at the kill: the new worker has work to take over.
        expect(await countRows('out')).toBeLessThan(CONVERSATIONS * 2);
        workers.push(await startHubProcess(config, ['--role', 'worker']));
      }
    }
    // A client retry after the restart must not produce a second answer either.
    await post(0, 0);
    sent[0]?.pop();

    const total = CONVERSATIONS * MESSAGES_EACH;
    await until('every message answered', async () => (await countRows('out')) >= total);
    await new Promise((resolve) => setTimeout(resolve, 1500)); // would-be duplicates have time to show up

    const { rows } = await db.query<{ conversation_key: string; in_reply_to: string; n: string }>(
      `select conversation_key, in_reply_to, count(*) over (partition by in_reply_to) as n
         from messages where direction = 'out' order by seq`,
    );
    expect(rows).toHaveLength(total);
    expect(rows.every((row) => row.n === '1')).toBe(true);
    for (let c = 0; c < CONVERSATIONS; c++) {
      const answeredInOrder = rows
        .filter((row) => row.conversation_key === dataKeys.conversation(`rest:default:customer-${c}`))
        .map((row) => row.in_reply_to);
      expect(answeredInOrder).toEqual(sent[c]);
    }
    expect(await countRows('in')).toBe(total);
  }, 120_000);
});
