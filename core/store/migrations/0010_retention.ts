import type { Kysely } from 'kysely';

/**
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
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('job_leases').ifExists().execute();
}
