import type { Kysely } from 'kysely';

/**
 * The operator console's system figures (core/analytics/overview.ts), shared by every process: each
 * turn's own latency beside its business facts, and a per-minute count of failed turn attempts,
 * dead letters and logged errors that each process adds its counters' growth to once a minute
 * (core/analytics/system-minutes.ts). Counts only: no text, no conversation.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('turn_facts').addColumn('latency_ms', 'integer').execute();
  // The console reads the last hour or day by time, not by day.
  await db.schema.createIndex('turn_facts_at_idx').on('turn_facts').columns(['at']).execute();
  await db.schema
    .createTable('system_minutes')
    .addColumn('minute', 'timestamptz', (c) => c.notNull())
    // '' for a count no tenant can be named for (a process's logged errors).
    .addColumn('tenant', 'text', (c) => c.notNull())
    .addColumn('channel', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('count', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('system_minutes_pk', ['minute', 'tenant', 'channel', 'kind'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('system_minutes').ifExists().execute();
  await db.schema.dropIndex('turn_facts_at_idx').ifExists().execute();
  await db.schema.alterTable('turn_facts').dropColumn('latency_ms').execute();
}
