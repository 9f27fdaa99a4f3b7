import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBus } from '../../core/bus';
import { parseConfig } from '../../core/config/load';
import { shareDataKeys } from '../support/data-keys';
import { findPostgresBin, freePort, PrivatePostgres } from '../support/private-services';
import { type HubProcess, SAMPLE_QUESTIONS, startHubProcess, writeConfig } from './hub-process';

/** The hub keeps conversation keys as keyed hashes: the test shares its data keys to find them. */
const dataKeys = shareDataKeys();

/**
 * The fault test: PostgreSQL stopped for 30 s in the middle of a steady load. A private
 * PostgreSQL on its own port is stopped, never the machine's (other tests use that one).
 */
const PG_BIN = findPostgresBin();
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const suffix = randomBytes(4).toString('hex');
const keyPrefix = `hub-outage-${suffix}`;
const queue = `outage-${suffix}`;
const CONVERSATIONS = 8;
const ROUNDS = 50;
const ROUND_MS = 700;
const OUTAGE_MS = 30_000;
const questions = SAMPLE_QUESTIONS;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let database: PrivatePostgres | undefined;
let hub: HubProcess | undefined;
let redis: Redis;

beforeAll(async () => {
  redis = new Redis(REDIS_URL);
  if (!PG_BIN) return;
  database = new PrivatePostgres(PG_BIN, await freePort());
  database.init();
  database.start();
});

afterAll(async () => {
  await hub?.stop('SIGKILL');
  database?.destroy();
  for await (const keys of redis.scanStream({ match: `${keyPrefix}:*`, count: 500 })) {
    if ((keys as string[]).length > 0) await redis.del(...(keys as string[]));
  }
  await redis.quit();
});

describe.skipIf(!PG_BIN)('PostgreSQL outage under load (BullMQ bus, Redis state)', () => {
  it('answers every message once and in order, with no dead letters, when PostgreSQL stops for 30 s', async () => {
    if (!database) throw new Error('the private PostgreSQL did not start');
    const db = database;
    const config = {
      server: { replyTimeoutMs: 50 },
      redis: { url: REDIS_URL, keyPrefix },
      bus: { driver: 'bullmq', queue, lockTtlMs: 2_000, backoffMs: 100, concurrency: 8 },
      state: { driver: 'redis' },
      database: { driver: 'postgres', url: db.url },
      // Each customer sends 50 messages in 35 s, faster than security.rateLimits lets a person: this is about the outage.
      security: { rateLimits: { enabled: false } },
    };
    hub = await startHubProcess(writeConfig(config));
    const url = hub.url;
    const started = Date.now();

    // Accepted means published: the bus's dedupe key exists. While the database is down the REST
    // answer is 202 with the event id (the reply look-up cannot run), never an error.
    const accepted = async (eventId: string) =>
      (await redis.exists(`${keyPrefix}:bus:${queue}:dedupe:${eventId}`)) === 1;
    const sent: string[][] = Array.from({ length: CONVERSATIONS }, () => []);
    let refusedPosts = 0;
    let failedResponses = 0;
    const post = async (conversation: number, index: number) => {
      const sender = `customer-${conversation}`;
      const messageId = `m${index}`;
      const eventId = `rest:${sender}:${messageId}`;
      for (let tries = 0; ; tries++) {
        const response = await fetch(`${url}/webhooks/rest`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            sender,
            message: questions[index % questions.length],
            message_id: messageId,
          }),
        }).catch(() => undefined);
        await response?.arrayBuffer();
        if (!response?.ok) failedResponses++;
        if (response?.ok || (await accepted(eventId))) break;
        refusedPosts++;
        if (tries > 50) throw new Error(`message ${eventId} was never accepted (HTTP ${response?.status})`);
        await sleep(200);
      }
      sent[conversation]?.push(eventId);
    };

    let stoppedAt = 0;
    let restartedAt = 0;
    const outage = (async () => {
      await sleep(4 * ROUND_MS);
      stoppedAt = Date.now();
      db.stop();
      await sleep(OUTAGE_MS);
      db.start();
      restartedAt = Date.now();
    })();
    for (let round = 0; round < ROUNDS; round++) {
      const roundStart = Date.now();
      await Promise.all(Array.from({ length: CONVERSATIONS }, (_, c) => post(c, round)));
      await sleep(Math.max(0, ROUND_MS - (Date.now() - roundStart)));
    }
    const loadEndedAt = Date.now();
    await outage;
    // The load ran on both sides of the outage.
    expect(stoppedAt - started).toBeLessThan(loadEndedAt - started);
    expect(loadEndedAt).toBeGreaterThan(restartedAt);

    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const total = CONVERSATIONS * ROUNDS;
      const answered = async () =>
        Number((await client.query(`select count(*) from messages where direction = 'out'`)).rows[0].count);
      const deadline = Date.now() + 90_000;
      while ((await answered()) < total && Date.now() < deadline) await sleep(250);
      await sleep(1_500); // would-be duplicates have time to show up
      const { rows } = await client.query<{ conversation_key: string; in_reply_to: string; n: string }>(
        `select conversation_key, in_reply_to, count(*) over (partition by in_reply_to) as n
           from messages where direction = 'out' order by seq`,
      );
      let outOfOrder = 0;
      for (let c = 0; c < CONVERSATIONS; c++) {
        const answeredInOrder = rows
          .filter((row) => row.conversation_key === dataKeys.conversation(`rest:default:customer-${c}`))
          .map((row) => row.in_reply_to);
        const positions = answeredInOrder.map((id) => sent[c]?.indexOf(id) ?? -1);
        outOfOrder += positions.filter((position, i) => i > 0 && position < (positions[i - 1] ?? 0)).length;
      }
      const bus = await createBus(parseConfig(config), { keyPrefix });
      const deadLetters = await bus.deadLetters(1_000);
      await bus.close();
      const figures = {
        messages: total,
        replies: rows.length,
        repliedTwice: rows.filter((row) => row.n !== '1').length,
        deadLetters: deadLetters.length,
        outOfOrder,
        refusedPosts,
        failedResponses,
        outageMs: restartedAt - stoppedAt,
        durationMs: Date.now() - started,
      };
      console.log(`database outage figures: ${JSON.stringify(figures)}`);

      expect(deadLetters.map((letter) => `${letter.event.id}: ${letter.code} ${letter.error}`)).toEqual([]);
      expect(rows).toHaveLength(total);
      expect(figures.repliedTwice).toBe(0);
      expect(failedResponses).toBe(0);
      expect(outOfOrder).toBe(0);
      for (let c = 0; c < CONVERSATIONS; c++) {
        const answeredInOrder = rows
          .filter((row) => row.conversation_key === dataKeys.conversation(`rest:default:customer-${c}`))
          .map((row) => row.in_reply_to);
        expect(answeredInOrder).toEqual(sent[c]);
      }
      const inbound = await client.query(`select count(*) from messages where direction = 'in'`);
      expect(Number(inbound.rows[0].count)).toBe(total);
    } finally {
      await client.end();
    }
  }, 240_000);
});
