import type { Kysely } from 'kysely';

/**
 * Retention (core/store/retention.ts). Payloads and ticket drafts are sealed at rest, so the purge
 * cannot tell a stub from a full value in SQL: `messages.payload_purged` and
 * `ticket_requests.draft_redacted` mark the rows it already cut (a constant default: no table rewrite).
 *
 * Leases of deployment-wide jobs (the retention purge): one row per job, taken by the process whose
 * lease is the only one that has not lapsed. A row, not an advisory lock: the same SQL runs on
 * PostgreSQL and on embedded PGlite, and a crashed holder's lease ends by itself.
 * `Kysely<unknown>`: a migration is frozen history.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('job_leases')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('holder', 'text', (c) => c.notNull())
    .addColumn('until', 'timestamptz', (c) => c.notNull())
    .execute();
  await db.schema
    .alterTable('messages')
    .addColumn('payload_purged', 'boolean', (c) => c.notNull().defaultTo(false))
    .execute();
  await db.schema
    .alterTable('ticket_requests')
    .addColumn('draft_redacted', 'boolean', (c) => c.notNull().defaultTo(false))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('ticket_requests').dropColumn('draft_redacted').execute();
  await db.schema.alterTable('messages').dropColumn('payload_purged').execute();
  await db.schema.dropTable('job_leases').ifExists().execute();
}
