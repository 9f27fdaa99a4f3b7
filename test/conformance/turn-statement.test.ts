import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AnalyticsStore, loadAnalyticsKey } from '../../core/analytics';
import { MemoryFeed } from '../../core/bus';
import { parseConfig } from '../../core/config/load';
import { DialogEngine } from '../../core/dialog/engine';
import { loadDialogKit } from '../../core/dialog/setup';
import { createTurnHandler } from '../../core/dialog/turn';
import { createTurnWriter } from '../../core/dialog/turn-write';
import { dbStatements, errors } from '../../core/metrics';
import { createKnowledge } from '../../core/rag';
import { CLI_ACTOR, recordOperatorAction, TURN_ACTION } from '../../core/security/audit';
import { MemoryStateStore } from '../../core/state';
import { AuditSealer } from '../../core/store/audit-sealer';
import type { DeliveryContext, DialogState, InboundEvent, OutboundMessage } from '../../core/types';
import { openTestStore, type TestStore } from '../support/postgres';

/**
 * A turn's whole write (transcript, audit record, business facts) is one SQL statement, and the
 * audit records it leaves pending are chained by the sealer: on embedded PGlite and on PostgreSQL.
 */

const config = parseConfig({ database: { dataDir: 'memory://' } }, {});
let engine: DialogEngine;

beforeAll(async () => {
  const knowledge = await createKnowledge(config);
  engine = new DialogEngine({ config, retriever: knowledge.retriever, dialog: await loadDialogKit(config) });
}, 120_000);

const ctx = (attempt = 1): DeliveryContext => ({
  attempt,
  fencingToken: attempt,
  signal: new AbortController().signal,
});

async function statementsSent(): Promise<number> {
  const metric = await dbStatements.get();
  return metric.values.reduce((sum, value) => sum + value.value, 0);
}

describe.each(['pglite', 'postgres'] as const)('the turn in one statement (%s)', (driver) => {
  let test: TestStore;
  let analytics: AnalyticsStore;
  let sequence = 0;

  beforeAll(async () => {
    test = await openTestStore(driver, 'hub_turn_statement');
    analytics = new AnalyticsStore(test.store.db, 30, await loadAnalyticsKey(test.store.db));
  }, 120_000);

  afterAll(async () => {
    await test?.dispose();
  });

  function message(conversation: string, text = 'how do I get an invoice?'): InboundEvent {
    return {
      id: `ts:${conversation}:${++sequence}`,
      kind: 'message',
      ref: { channel: 'test', tenant: 'default', conversation },
      sender: { id: `customer-${conversation}` },
      receivedAt: new Date().toISOString(),
      text,
    };
  }

  function handler(states = new MemoryStateStore({ ttlMs: 60_000 })) {
    const delivered: OutboundMessage[] = [];
    const handle = createTurnHandler({
      engine,
      states,
      store: test.store,
      feed: new MemoryFeed(`turn-statement-${driver}-${++sequence}`),
      deliver: async (reply) => void delivered.push(reply),
      write: createTurnWriter(test.store, { audit: true, analytics }),
    });
    return { handle, delivered, states };
  }

  const count = async (query: string) => {
    const { rows } = await sql<{ n: string | number }>`${sql.raw(query)}`.execute(test.store.db);
    return Number(rows[0]?.n ?? 0);
  };

  it('writes a turn of a known customer with exactly one statement', async () => {
    const { handle, delivered } = handler();
    // The first turn resolves the customer (an upsert, then cached): not the turn's write.
    await handle(message('one-statement'), ctx());
    const before = await statementsSent();
    await handle(message('one-statement', 'and a refund?'), ctx());
    expect((await statementsSent()) - before).toBe(1);
    expect(delivered.length).toBeGreaterThanOrEqual(2);
    expect(await count(`select count(*) as n from turn_facts where event_id like 'ts:one-statement:%'`)).toBe(
      2,
    );
    expect(
      await count(
        `select count(*) as n from audit_log where dedupe_key like 'turn:ts:one-statement:%' and seq is null`,
      ),
    ).toBe(2);
  });

  it('writes nothing twice when the worker dies between the write and the state save', async () => {
    const states = new MemoryStateStore({ ttlMs: 60_000 });
    const save = states.save.bind(states);
    let failSave = true;
    states.save = async (state: DialogState, options) => {
      if (failSave) {
        failSave = false;
        throw new Error('worker died before saving the state');
      }
      return save(state, options);
    };
    const { handle, delivered } = handler(states);
    const event = message('crash');
    await expect(handle(event, ctx(1))).rejects.toThrow('worker died');
    expect(delivered).toHaveLength(0);
    const stored = await test.store.repliesTo(event.id);
    expect(stored.length).toBeGreaterThan(0);

    const before = await statementsSent();
    await handle(event, ctx(2));
    // The redelivery reads the stored replies and finishes from them: what is stored is what is sent.
    expect(delivered.map((reply) => reply.id)).toEqual(stored.map((reply) => reply.id));
    expect((await statementsSent()) - before).toBeLessThanOrEqual(2);
    // And once more, with the state saved: a redelivery of a handled event writes nothing.
    await handle(event, ctx(3));
    expect(await count(`select count(*) as n from messages where id = '${event.id}'`)).toBe(1);
    expect(await count(`select count(*) as n from messages where in_reply_to = '${event.id}'`)).toBe(
      stored.length,
    );
    expect(await count(`select count(*) as n from audit_log where dedupe_key = 'turn:${event.id}'`)).toBe(1);
    expect(await count(`select count(*) as n from turn_facts where event_id = '${event.id}'`)).toBe(1);
    const outcome = await analytics.db
      .selectFrom('conversation_outcomes')
      .select('turns')
      .where('conversation_hash', '=', analytics.pseudonym(`test:default:crash`))
      .executeTakeFirst();
    expect(outcome?.turns).toBe(1);
  });

  it('still answers when the facts part fails: the statement runs again without it', async () => {
    const broken = Object.create(analytics) as AnalyticsStore;
    broken.factStatement = () => ({
      ctes: [sql`fact_row as (select 1 / 0 as conversation_id)`],
      columns: [sql`(select conversation_id from fact_row) as fact_conversation`],
    });
    const delivered: OutboundMessage[] = [];
    const handle = createTurnHandler({
      engine,
      states: new MemoryStateStore({ ttlMs: 60_000 }),
      store: test.store,
      feed: new MemoryFeed(`turn-statement-broken-${driver}`),
      deliver: async (reply) => void delivered.push(reply),
      write: createTurnWriter(test.store, { audit: true, analytics: broken }),
    });
    const failures = async () =>
      (await errors.get()).values.find((v) => v.labels.code === 'analytics.write_failed')?.value ?? 0;
    const before = await failures();
    const event = message('facts-broken');
    await handle(event, ctx());
    expect(delivered.length).toBeGreaterThan(0);
    expect(await failures()).toBe(before + 1);
    expect(await count(`select count(*) as n from messages where in_reply_to = '${event.id}'`)).toBe(
      delivered.length,
    );
    expect(await count(`select count(*) as n from audit_log where dedupe_key = 'turn:${event.id}'`)).toBe(1);
    expect(await count(`select count(*) as n from turn_facts where event_id = '${event.id}'`)).toBe(0);
  });

  it('seals pending records in id order, two sealers at once, and the chain verifies', async () => {
    const { handle } = handler();
    for (let i = 0; i < 6; i++) await handle(message(`seal-${i}`), ctx());
    await recordOperatorAction(test.store, { actor: CLI_ACTOR, action: 'config.reload' });
    const a = new AuditSealer(test.store.auditLog);
    const b = new AuditSealer(test.store.auditLog);
    for (let i = 0; i < 3; i++) await handle(message(`seal-late-${i}`), ctx());
    const [sa, sb] = await Promise.all([a.sealIfPending(), b.sealIfPending()]);
    expect(sa + sb).toBeGreaterThanOrEqual(3);
    expect(await test.store.auditLog.hasPending()).toBe(false);
    const rows = await test.store.db
      .selectFrom('audit_log')
      .select(['id', 'seq', 'pending_mac'])
      .where('seq', 'is not', null)
      .orderBy('seq')
      .execute();
    expect(rows.every((row) => row.pending_mac === null)).toBe(true);
    const ids = rows.map((row) => BigInt(row.id));
    expect(ids).toEqual([...ids].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0)));
    const verified = await test.store.auditLog.verify();
    expect(verified).toMatchObject({ ok: true });
    expect(verified.checked).toBe(rows.length);
  });

  it('an operator action chains the pending records before itself', async () => {
    const { handle } = handler();
    await handle(message('before-operator'), ctx());
    expect(await test.store.auditLog.hasPending()).toBe(true);
    const { seq } = await recordOperatorAction(test.store, { actor: CLI_ACTOR, action: 'config.reload' });
    expect(await test.store.auditLog.hasPending()).toBe(false);
    const turn = await test.store.db
      .selectFrom('audit_log')
      .select('seq')
      .where('dedupe_key', 'like', 'turn:ts:before-operator:%')
      .executeTakeFirstOrThrow();
    expect(Number(turn.seq)).toBeLessThan(seq);
    expect(await test.store.auditLog.verify()).toMatchObject({ ok: true });
  });

  it('accepts a young pending record and names one pending too long', async () => {
    const { handle } = handler();
    await handle(message('overdue'), ctx());
    expect(await test.store.auditLog.verify()).toMatchObject({ ok: true });
    const late = await test.store.auditLog.verify({ pendingGraceMs: 0 });
    expect(late.ok).toBe(false);
    expect(late.fault?.reason).toBe('pending');
    await test.store.auditLog.seal();
    expect(await test.store.auditLog.verify({ pendingGraceMs: 0 })).toMatchObject({ ok: true });
  });

  it('never chains a pending row forged or edited without the key, and verify names it', async () => {
    const { handle } = handler();
    const event = message('forged');
    await handle(event, ctx());
    // Someone with database access but not the audit key edits the pending record...
    await sql`update audit_log set details = jsonb_set(details, '{outcome}', '"silent"')
      where dedupe_key = ${`turn:${event.id}`}`.execute(test.store.db);
    // ...and adds one of their own.
    await sql`insert into audit_log (at, actor, action, subject, tenant, details, dedupe_key, pending_mac)
      values (now(), 'bot', ${TURN_ACTION}, 'x', 'default', '{}'::jsonb, 'turn:forged-by-hand', ${'0'.repeat(64)})`.execute(
      test.store.db,
    );
    const verified = await test.store.auditLog.verify();
    expect(verified.ok).toBe(false);
    expect(verified.fault?.reason).toBe('forged');
    // Batches of one: the forged rows are passed over, never read again in the same seal.
    const { forged } = await test.store.auditLog.seal(1);
    expect(forged).toHaveLength(2);
    expect(
      await count(`select count(*) as n from audit_log where seq is null and pending_mac is not null`),
    ).toBe(2);
    // The rest of the chain is sound; only the forged rows are faults.
    expect((await test.store.auditLog.verify()).fault?.reason).toBe('forged');
    await sql`delete from audit_log where seq is null`.execute(test.store.db);
    expect(await test.store.auditLog.verify()).toMatchObject({ ok: true });
  });

  it('names a sealed record edited afterwards', async () => {
    const { handle } = handler();
    const event = message('tampered');
    await handle(event, ctx());
    await test.store.auditLog.seal();
    const where = `turn:${event.id}`;
    const { rows } = await sql<{ outcome: string }>`select details->>'outcome' as outcome from audit_log
      where dedupe_key = ${where}`.execute(test.store.db);
    await sql`update audit_log set details = jsonb_set(details, '{outcome}', '"silent"')
      where dedupe_key = ${where}`.execute(test.store.db);
    const verified = await test.store.auditLog.verify();
    expect(verified.fault?.reason).toBe('edited');
    // Put back as it was, the chain is sound again.
    await sql`update audit_log set details = jsonb_set(details, '{outcome}', to_jsonb(${rows[0]?.outcome}::text))
      where dedupe_key = ${where}`.execute(test.store.db);
    expect(await test.store.auditLog.verify()).toMatchObject({ ok: true });
  });

  it('a purge chains the pending records first and leaves a chain that verifies', async () => {
    const { handle } = handler();
    await handle(message('purged'), ctx());
    expect(await test.store.auditLog.hasPending()).toBe(true);
    const { purged, checkpoint } = await test.store.auditLog.purge(
      new Date(Date.now() + 60_000).toISOString(),
    );
    expect(purged).toBeGreaterThan(0);
    expect(await test.store.auditLog.hasPending()).toBe(false);
    expect(await count(`select count(*) as n from audit_log`)).toBe(0);
    expect(checkpoint?.seq).toBeGreaterThan(0);
    await handle(message('after-purge'), ctx());
    await test.store.auditLog.seal();
    expect(await test.store.auditLog.verify()).toMatchObject({ ok: true, checked: 1 });
  });

  it('redacts a pending record (it is chained first) and the chain still verifies', async () => {
    const { handle } = handler();
    const event = message('erased');
    await handle(event, ctx());
    expect(await test.store.auditLog.hasPending()).toBe(true);
    const redacted = await test.store.auditLog.redact({ subjects: [], eventIds: [event.id] }, CLI_ACTOR);
    expect(redacted).toBe(1);
    expect(await test.store.auditLog.hasPending()).toBe(false);
    const verified = await test.store.auditLog.verify();
    expect(verified.fault).toBeUndefined();
    expect(verified).toMatchObject({ ok: true, redacted: 1 });
  });
});
