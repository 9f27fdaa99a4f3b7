import { type Kysely, sql } from 'kysely';

/**
 * Signed platform requests the hub acknowledged without turning them into an event: a payload its
 * connector could not read, kept for an operator to inspect (`GET /admin/webhooks/rejected`). The
 * body is stored truncated and the table is pruned to its newest rows on every insert, so a
 * platform that keeps sending garbage cannot fill the database.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('rejected_webhooks')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('channel', 'text', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('received_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('body', 'text', (c) => c.notNull())
    .addColumn('body_bytes', 'integer', (c) => c.notNull())
    .addColumn('truncated', 'boolean', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('rejected_webhooks_channel_idx')
    .on('rejected_webhooks')
    .columns(['channel', 'id'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('rejected_webhooks').ifExists().execute();
}
