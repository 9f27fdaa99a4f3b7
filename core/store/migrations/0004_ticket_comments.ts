import { type Kysely, sql } from 'kysely';

/**
 * What a customer writes while a person owns the conversation, on its way to the ticket: an outbox
 * of comments, one per inbound event, delivered in order per ticket once the ticket itself exists
 * in the helpdesk. The demo helpdesk's comments get an idempotency key, so a retried delivery
 * finds the comment the first attempt wrote. `Kysely<unknown>`: a migration is frozen history.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('ticket_comments')
    .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('request_id', 'text', (c) => c.notNull().references('ticket_requests.id').onDelete('cascade'))
    // The inbound event the comment carries: a redelivered turn finds the first row.
    .addColumn('event_id', 'text', (c) => c.notNull().unique())
    .addColumn('author', 'text', (c) => c.notNull())
    .addColumn('body', 'text', (c) => c.notNull())
    .addColumn('public', 'boolean', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('locked_until', 'timestamptz')
    .addColumn('last_error', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('delivered_at', 'timestamptz')
    .addColumn('dead_at', 'timestamptz')
    .execute();
  // The head of each ticket's queue: the oldest comment neither delivered nor dead.
  await db.schema
    .createIndex('ticket_comments_pending_idx')
    .on('ticket_comments')
    .columns(['request_id', 'id'])
    .where(sql.ref('delivered_at'), 'is', null)
    .execute();

  await db.schema.alterTable('demo_ticket_comments').addColumn('idempotency_key', 'text').execute();
  // NULLs are distinct: agent actions and the description carry no key.
  await db.schema
    .createIndex('demo_ticket_comments_idempotency_idx')
    .on('demo_ticket_comments')
    .columns(['ticket_id', 'idempotency_key'])
    .unique()
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('demo_ticket_comments_idempotency_idx').ifExists().execute();
  await db.schema.alterTable('demo_ticket_comments').dropColumn('idempotency_key').execute();
  await db.schema.dropTable('ticket_comments').ifExists().execute();
}
