import { type Kysely, sql } from 'kysely';

/**
 * The audit log becomes a hash chain: each record carries its sequence number, the previous
 * record's hash and its own (HMAC-SHA256 with a server key, core/security/audit-chain.ts).
 * `audit_chain_head` is one row every append locks (`SELECT ... FOR UPDATE`), so hub processes
 * sharing one PostgreSQL append one at a time; `audit_checkpoints` keeps the signed last hash of
 * each retention purge, where verification starts once older records are gone.
 * Rows written before this migration have no sequence number: verification reports them.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('audit_log')
    .addColumn('seq', 'bigint', (c) => c.unique())
    .addColumn('prev_hash', 'text')
    .addColumn('hash', 'text')
    .addColumn('tenant', 'text')
    // One record per idempotency key (a turn's event id): a redelivered turn finds the first.
    .addColumn('dedupe_key', 'text', (c) => c.unique())
    .execute();

  await db.schema
    .createTable('audit_chain_head')
    .addColumn('id', 'smallint', (c) => c.primaryKey().check(sql`id = 1`))
    .addColumn('seq', 'bigint', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    .execute();
  await sql`insert into audit_chain_head (id, seq, hash) values (1, 0, '')`.execute(db);

  await db.schema
    .createTable('audit_checkpoints')
    .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    // The last purged record: verification expects seq + 1 next, chained to hash.
    .addColumn('seq', 'bigint', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    .addColumn('at', 'timestamptz', (c) => c.notNull())
    .addColumn('signature', 'text', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('audit_checkpoints').ifExists().execute();
  await db.schema.dropTable('audit_chain_head').ifExists().execute();
  await db.schema
    .alterTable('audit_log')
    .dropColumn('dedupe_key')
    .dropColumn('tenant')
    .dropColumn('hash')
    .dropColumn('prev_hash')
    .dropColumn('seq')
    .execute();
}
