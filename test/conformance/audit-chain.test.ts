import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { hubConfigSchema } from '../../core/config/schema';
import { recordOperatorAction } from '../../core/security/audit';
import { createStore, type KyselyStore } from '../../core/store';
import { openTestStore, scratchDatabase, type TestStore } from '../support/postgres';

/** `hub audit verify` finds any edited, deleted or reordered record, on both databases. */
describe.each([
  { driver: 'pglite (in memory)', open: () => openTestStore('pglite') },
  { driver: 'postgres (real server)', open: () => openTestStore('postgres', 'hub_audit') },
])('the audit chain on $driver', ({ open }) => {
  let opened: TestStore;
  let store: KyselyStore;

  beforeAll(async () => {
    opened = await open();
    store = opened.store;
  }, 60_000);
  afterAll(async () => {
    await opened?.dispose();
  });

  // Each test starts from an empty chain: the raw edits below aim at known sequence numbers.
  beforeEach(async () => {
    await sql`delete from audit_log`.execute(store.db);
    await sql`delete from audit_checkpoints`.execute(store.db);
    await sql`update audit_chain_head set seq = 0, hash = ''`.execute(store.db);
  });

  async function appendFive(): Promise<void> {
    for (let i = 1; i <= 5; i++) {
      await recordOperatorAction(store, {
        actor: `operator-${i}`,
        action: 'ticket.reply',
        subject: `ticket:demo:${i}`,
        tenant: 'acme',
        details: { text: `reply ${i}`, nested: { b: i, a: [1, 'two'] }, 备注: '加急' },
      });
    }
  }

  it('chains records 1..n and verifies them, whatever order jsonb keeps the keys in', async () => {
    await appendFive();
    const records = [];
    for await (const record of store.auditLog.records()) records.push(record);
    expect(records.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(records[0]?.prevHash).toBe('');
    for (let i = 1; i < records.length; i++) expect(records[i]?.prevHash).toBe(records[i - 1]?.hash);
    expect(records[2]).toMatchObject({
      actor: 'operator-3',
      action: 'operator.ticket.reply',
      tenant: 'acme',
    });
    expect(await store.auditLog.verify()).toEqual({ ok: true, checked: 5, from: 0 });
  });

  it('finds an edited record', async () => {
    await appendFive();
    await sql`update audit_log set details = jsonb_set(details, '{text}', '"a kinder reply"') where seq = 3`.execute(
      store.db,
    );
    expect(await store.auditLog.verify()).toMatchObject({
      ok: false,
      checked: 2,
      fault: { seq: 3, reason: 'edited' },
    });
  });

  it('finds an edited actor even when the hash columns are untouched', async () => {
    await appendFive();
    await sql`update audit_log set actor = 'someone-else' where seq = 4`.execute(store.db);
    expect((await store.auditLog.verify()).fault).toMatchObject({ seq: 4, reason: 'edited' });
  });

  it('finds a deleted record, in the middle and at the end', async () => {
    await appendFive();
    await sql`delete from audit_log where seq = 2`.execute(store.db);
    expect(await store.auditLog.verify()).toMatchObject({ ok: false, fault: { seq: 2, reason: 'deleted' } });

    await sql`delete from audit_log`.execute(store.db);
    await sql`update audit_chain_head set seq = 0, hash = ''`.execute(store.db);
    await appendFive();
    await sql`delete from audit_log where seq = 5`.execute(store.db);
    expect(await store.auditLog.verify()).toMatchObject({ ok: false, fault: { seq: 5, reason: 'deleted' } });
  });

  it('finds a swapped pair', async () => {
    await appendFive();
    // Swap the positions of records 2 and 3 (through -1: seq is unique).
    await sql`update audit_log set seq = -1 where seq = 2`.execute(store.db);
    await sql`update audit_log set seq = 2 where seq = 3`.execute(store.db);
    await sql`update audit_log set seq = 3 where seq = -1`.execute(store.db);
    expect(await store.auditLog.verify()).toMatchObject({
      ok: false,
      checked: 1,
      fault: { seq: 2, reason: 'reordered' },
    });
  });

  it('finds a swapped pair whose contents were exchanged, sequence numbers kept', async () => {
    await appendFive();
    await sql`
      update audit_log as a set actor = b.actor, action = b.action, subject = b.subject, details = b.details,
        at = b.at, prev_hash = b.prev_hash, hash = b.hash
      from audit_log as b where (a.seq, b.seq) in ((3, 4), (4, 3))`.execute(store.db);
    expect((await store.auditLog.verify()).fault).toMatchObject({ seq: 3, reason: 'reordered' });
  });

  it('finds a row written beside the chain', async () => {
    await appendFive();
    await sql`insert into audit_log (actor, action) values ('intruder', 'operator.login')`.execute(store.db);
    expect((await store.auditLog.verify()).fault).toMatchObject({ seq: 6, reason: 'unchained' });
  });

  it('appends a record with a dedupe key once', async () => {
    const first = await store.audit({ actor: 'bot', action: 'bot.turn', dedupeKey: 'turn:evt-1' });
    const again = await store.audit({ actor: 'bot', action: 'bot.turn', dedupeKey: 'turn:evt-1' });
    expect(first).toEqual({ seq: 1, appended: true });
    expect(again).toEqual({ seq: 1, appended: false });
    expect(await store.auditLog.verify()).toMatchObject({ ok: true, checked: 1 });
  });

  it('purges old records behind a signed checkpoint and still verifies; a forged checkpoint fails', async () => {
    const old = new Date(Date.now() - 40 * 86_400_000).toISOString();
    for (let i = 0; i < 3; i++) await store.audit({ actor: 'bot', action: 'bot.turn', at: old });
    await appendFive();
    const purged = await store.auditLog.purge(new Date(Date.now() - 30 * 86_400_000).toISOString());
    expect(purged).toMatchObject({ purged: 3, checkpoint: { seq: 3 } });
    expect(await store.auditLog.verify()).toEqual({ ok: true, checked: 5, from: 3 });

    await sql`delete from audit_log where seq = 4`.execute(store.db);
    expect((await store.auditLog.verify()).fault).toMatchObject({ seq: 4, reason: 'deleted' });

    await sql`delete from audit_checkpoints`.execute(store.db);
    expect((await store.auditLog.verify()).fault).toMatchObject({ seq: 1, reason: 'deleted' });

    await sql`insert into audit_checkpoints (seq, hash, at, signature) values (4, 'forged', now(), 'forged')`.execute(
      store.db,
    );
    expect((await store.auditLog.verify()).fault).toMatchObject({ seq: 4, reason: 'checkpoint' });
  });

  it('keeps one chain when one process appends many records at once', async () => {
    await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        store.audit({ actor: 'bot', action: 'bot.turn', dedupeKey: `turn:evt-${i % 20}` }),
      ),
    );
    expect(await store.auditLog.verify()).toEqual({ ok: true, checked: 20, from: 0 });
  });

  it('exports a time window in chain order', async () => {
    await store.audit({ actor: 'a', action: 'x', at: '2026-01-01T00:00:00.000Z' });
    await store.audit({ actor: 'b', action: 'x', at: '2026-01-02T00:00:00.000Z' });
    await store.audit({ actor: 'c', action: 'x', at: '2026-01-03T00:00:00.000Z' });
    const window = [];
    for await (const r of store.auditLog.records({
      since: '2026-01-02T00:00:00Z',
      until: '2026-01-03T00:00:00Z',
    })) {
      window.push(r.actor);
    }
    expect(window).toEqual(['b']);
  });
});

describe('concurrent appends on real PostgreSQL', () => {
  const database = scratchDatabase('hub_audit_race');
  let keyDir: string;
  let stores: KyselyStore[] = [];

  beforeAll(async () => {
    await database.create();
    keyDir = await mkdtemp(join(tmpdir(), 'hub-audit-key-'));
  });
  afterAll(async () => {
    for (const store of stores) await store.close();
    await database.drop();
    await rm(keyDir, { recursive: true, force: true });
  });

  it('two hub processes appending at once keep one valid chain', async () => {
    // Two stores, two connection pools, one key file: what two hub processes on one host have.
    const config = hubConfigSchema.parse({
      database: { driver: 'postgres', url: database.url },
      audit: { keyFile: join(keyDir, 'audit.key') },
    });
    stores = await Promise.all([createStore(config), createStore(config)]);
    const perStore = 60;
    await Promise.all(
      stores.map((store, s) =>
        Promise.all(
          Array.from({ length: perStore }, (_, i) =>
            recordOperatorAction(store, { actor: `process-${s}`, action: 'ticket.take', subject: `t-${i}` }),
          ),
        ),
      ),
    );
    const [first, second] = stores as [KyselyStore, KyselyStore];
    const verified = await first.auditLog.verify();
    expect(verified).toEqual({ ok: true, checked: 2 * perStore, from: 0 });
    expect((await second.auditLog.verify()).ok).toBe(true);
    const actors = new Map<string, number>();
    for await (const record of second.auditLog.records())
      actors.set(record.actor, (actors.get(record.actor) ?? 0) + 1);
    expect(Object.fromEntries(actors)).toEqual({ 'process-0': perStore, 'process-1': perStore });
  });
});
