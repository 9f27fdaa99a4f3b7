import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { hubConfigSchema } from '../../core/config/schema';
import { createStore, type KyselyStore } from '../../core/store';
import type { InboundEvent, OutboundMessage } from '../../core/types';
import { scratchDatabase } from '../support/postgres';

/**
 * The turn's write is a prepared statement on PostgreSQL: each connection parses and plans it once
 * (`pg_prepared_statements` of the session holds it) and then only binds and runs it. One
 * connection in the pool, so the session the test reads is the one that wrote.
 */
const database = scratchDatabase('hub_prepared_turn');
let store: KyselyStore;

beforeAll(async () => {
  await database.create();
  store = await createStore(
    hubConfigSchema.parse({ database: { driver: 'postgres', url: database.url, poolSize: 1 } }),
  );
}, 120_000);

afterAll(async () => {
  await store?.close();
  await database.drop();
});

let serial = 0;
function turn(replies: number): { event: InboundEvent; replies: OutboundMessage[] } {
  const id = `prepared:${++serial}`;
  const ref = { channel: 'test', tenant: 'default', conversation: `c-${serial}` };
  return {
    event: {
      id,
      kind: 'message',
      ref,
      sender: { id: 'u' },
      receivedAt: new Date().toISOString(),
      text: 'hi',
    },
    replies: Array.from({ length: replies }, (_, n) => ({
      id: `${id}#${n}`,
      ref,
      content: { type: 'text', text: `answer ${n}` },
      inReplyTo: id,
      createdAt: new Date().toISOString(),
    })),
  };
}

const prepared = async () =>
  (await sql<{ statement: string }>`select statement from pg_prepared_statements`.execute(store.db)).rows.map(
    (row) => row.statement,
  );

it('prepares the turn write once per shape and reuses it on the next turns', async () => {
  for (let i = 0; i < 3; i++) {
    const { inserted } = await store.recordTurn(turn(1));
    expect(inserted).toEqual([true]);
  }
  const once = await prepared();
  expect(once).toHaveLength(1);
  expect(once[0]).toMatch(/^\/\* hub:prepared \*\/ with turn_conversation as/);
  // Two replies are another statement text: prepared once beside the first.
  await store.recordTurn(turn(2));
  await store.recordTurn(turn(2));
  expect(await prepared()).toHaveLength(2);
  // The rows are those of every turn, replies included: a redelivered turn inserts none.
  const again = turn(1);
  expect((await store.recordTurn(again)).inserted).toEqual([true]);
  expect((await store.recordTurn(again)).inserted).toEqual([false]);
  const { rows } = await sql<{ n: string }>`select count(*) as n from messages`.execute(store.db);
  expect(Number(rows[0]?.n)).toBe(3 * 2 + 2 * 3 + 2);
});

it('sends other statements unnamed', async () => {
  await store.transcript('test:default:c-1');
  await store.repliesTo('prepared:1');
  expect((await prepared()).every((text) => text.startsWith('/* hub:prepared */'))).toBe(true);
});
