import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type RunningHub, startHub } from '../../app/hub';
import { hubConfigSchema } from '../../core/config/schema';
import type { KyselyStore } from '../../core/store';
import { scratchDatabase } from '../support/postgres';

/**
 * PostgreSQL statements per REST turn in the production shape (BullMQ bus, Redis state and reply
 * feed, PostgreSQL), counted at the driver: the turn writes in one statement, and the REST side
 * reads no replies when the feed delivers them. Prints the turn's statements for the record.
 */
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const suffix = randomBytes(4).toString('hex');
const keyPrefix = `hub-statements-${suffix}`;
const database = scratchDatabase('hub_statements');
let hub: RunningHub;
let redis: Redis;
const statements: string[] = [];

beforeAll(async () => {
  redis = new Redis(REDIS_URL);
  await database.create();
  const query = pg.Client.prototype.query;
  // Every statement the hub sends, whichever pool: node-postgres's one entry point for a query.
  vi.spyOn(pg.Client.prototype, 'query').mockImplementation(function (this: pg.Client, ...args: unknown[]) {
    const text = typeof args[0] === 'string' ? args[0] : (args[0] as { text?: string })?.text;
    if (text) statements.push(text);
    return (query as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof query);
  hub = await startHub(
    hubConfigSchema.parse({
      server: { host: '127.0.0.1', port: 0, replyTimeoutMs: 10_000 },
      redis: { url: REDIS_URL, keyPrefix },
      bus: { driver: 'bullmq', queue: `statements-${suffix}`, concurrency: 4 },
      state: { driver: 'redis' },
      database: { driver: 'postgres', url: database.url },
      audit: { keyFile: `/tmp/hub-statements-${suffix}.key` },
      channels: [{ id: 'local', type: 'rest', auth: 'none', tenant: 'acme' }],
    }),
  );
});

afterAll(async () => {
  await hub?.stop();
  vi.restoreAllMocks();
  await database.drop();
  for await (const keys of redis.scanStream({ match: `${keyPrefix}:*`, count: 500 })) {
    if ((keys as string[]).length > 0) await redis.del(...(keys as string[]));
  }
  await redis.quit();
});

async function ask(sender: string, message: string, messageId?: string) {
  const response = await fetch(`${hub.url}/webhooks/local`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ sender, message, ...(messageId ? { message_id: messageId } : {}) }),
  });
  return { status: response.status, body: (await response.json()) as Array<{ id: string; text: string }> };
}

const replyReads = (texts: string[]) =>
  texts.filter((text) => /from "messages" where "in_reply_to"/.test(text));

describe('PostgreSQL statements of a REST turn', () => {
  it('the waiter reads nothing when the feed delivers the reply', async () => {
    // The first turn of a conversation makes its customer; measure the second, a steady-state turn.
    expect((await ask('alice', 'How long does shipping take?')).status).toBe(200);
    statements.length = 0;
    const answered = await ask('alice', 'Can I get an invoice?');
    expect(answered.status).toBe(200);
    expect(answered.body).toHaveLength(1);
    const turn = [...statements];
    console.info(
      `PostgreSQL statements for one REST turn: ${turn.length} (reply reads: ${replyReads(turn).length})`,
    );
    expect(replyReads(turn)).toEqual([]);
    // The turn's write is one statement (no transaction): transcript, audit record and facts. The
    // audit sealer may run in the window (a probe, or a transaction that chains the record): not the turn's.
    const sealer = /audit_chain_head|"pending_mac" is not null/;
    const own = turn.filter((text) => !sealer.test(text) && !/^\s*(begin|commit|rollback)\s*$/i.test(text));
    expect(own).toHaveLength(1);
    expect(own[0]).toMatch(/insert into messages[\s\S]*insert into audit_log[\s\S]*insert into turn_facts/);
  });

  it('a retried request (same message_id) reads the stored reply once', async () => {
    const first = await ask('bob', 'Which payment methods do you accept?', 'm-1');
    statements.length = 0;
    const retry = await ask('bob', 'Which payment methods do you accept?', 'm-1');
    expect(retry.status).toBe(200);
    expect(retry.body).toEqual(first.body);
    expect(replyReads(statements)).toHaveLength(1);
  });

  it("the worker's sealer chains the turns' audit records, and the chain verifies", async () => {
    const store = hub.store as KyselyStore;
    const counts = () =>
      store.db
        .selectFrom('audit_log')
        .select((eb) => [eb.fn.countAll<string>().as('all'), eb.fn.count<string>('seq').as('chained')])
        .where('action', '=', 'bot.turn')
        .executeTakeFirstOrThrow();
    await vi.waitFor(
      async () => {
        const { all, chained } = await counts();
        expect(Number(all)).toBeGreaterThanOrEqual(3);
        expect(Number(chained)).toBe(Number(all));
      },
      { timeout: 30_000, interval: 200 },
    );
    expect(await store.auditLog.verify({ pendingGraceMs: 0 })).toMatchObject({ ok: true });
  });
});
