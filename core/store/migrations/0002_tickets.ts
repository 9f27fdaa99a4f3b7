import { type Kysely, sql } from 'kysely';

/**
 * Ticket requests and their transactional outbox, plus the demo helpdesk's own tables.
 * A request row and its outbox row are written in one transaction; the delivery worker moves the
 * outbox row to delivered or dead. `Kysely<unknown>`: a migration is frozen history.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('ticket_requests')
    // The customer-facing reference (e.g. "HUB-7K3Q9M2X") and the idempotency key sent to the helpdesk.
    .addColumn('id', 'text', (c) => c.primaryKey())
    // What makes two requests the same one (e.g. conversation + inbound event): a redelivered turn finds the first.
    .addColumn('dedupe_key', 'text', (c) => c.notNull().unique())
    .addColumn('conversation_key', 'text', (c) => c.notNull())
    .addColumn('tenant', 'text', (c) => c.notNull())
    .addColumn('adapter', 'text', (c) => c.notNull())
    .addColumn('draft', 'jsonb', (c) => c.notNull())
    .addColumn('external_id', 'text')
    .addColumn('external_url', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('delivered_at', 'timestamptz')
    .execute();
  await db.schema
    .createIndex('ticket_requests_conversation_idx')
    .on('ticket_requests')
    .columns(['conversation_key', 'created_at'])
    .execute();

  await db.schema
    .createTable('ticket_outbox')
    .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('request_id', 'text', (c) =>
      c.notNull().unique().references('ticket_requests.id').onDelete('cascade'),
    )
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    // A worker's claim; a crashed worker's claim lapses and another takes the row over.
    .addColumn('locked_until', 'timestamptz')
    .addColumn('last_error', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('delivered_at', 'timestamptz')
    .addColumn('dead_at', 'timestamptz')
    .execute();
  await db.schema
    .createIndex('ticket_outbox_due_idx')
    .on('ticket_outbox')
    .column('next_attempt_at')
    .where(sql.ref('delivered_at'), 'is', null)
    .execute();

  await db.schema
    .createTable('demo_tickets')
    .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('idempotency_key', 'text', (c) => c.notNull().unique())
    .addColumn('tenant', 'text', (c) => c.notNull())
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('priority', 'text', (c) => c.notNull())
    .addColumn('category', 'text', (c) => c.notNull())
    .addColumn('tags', 'jsonb', (c) => c.notNull())
    .addColumn('draft', 'jsonb', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema
    .createTable('demo_ticket_comments')
    .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('ticket_id', 'bigint', (c) => c.notNull().references('demo_tickets.id').onDelete('cascade'))
    .addColumn('author', 'text', (c) => c.notNull())
    .addColumn('text', 'text', (c) => c.notNull())
    .addColumn('public', 'boolean', (c) => c.notNull())
    .addColumn('at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema
    .createIndex('demo_ticket_comments_ticket_idx')
    .on('demo_ticket_comments')
    .columns(['ticket_id', 'id'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['demo_ticket_comments', 'demo_tickets', 'ticket_outbox', 'ticket_requests']) {
    await db.schema.dropTable(table).ifExists().execute();
  }
}
