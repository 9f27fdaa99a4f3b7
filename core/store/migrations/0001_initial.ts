import { type Kysely, sql } from 'kysely';

/**
 * Customers, their channel identities, conversations, the transcript and the audit log.
 * `Kysely<unknown>` on purpose: a migration is frozen history and must not follow today's row types.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('customers')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('display_name', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  // One row per (channel, tenant, platform user): the same person on two channels is two rows
  // pointing at one customer once someone links them.
  await db.schema
    .createTable('channel_identities')
    .addColumn('channel', 'text', (c) => c.notNull())
    .addColumn('tenant', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('customer_id', 'uuid', (c) => c.notNull().references('customers.id').onDelete('cascade'))
    .addColumn('display_name', 'text')
    .addColumn('first_seen_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('last_seen_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('channel_identities_pk', ['channel', 'tenant', 'user_id'])
    .execute();
  await db.schema
    .createIndex('channel_identities_customer_idx')
    .on('channel_identities')
    .column('customer_id')
    .execute();

  await db.schema
    .createTable('conversations')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('channel', 'text', (c) => c.notNull())
    .addColumn('tenant', 'text', (c) => c.notNull())
    .addColumn('conversation', 'text', (c) => c.notNull())
    .addColumn('thread', 'text')
    .addColumn('customer_id', 'uuid', (c) => c.references('customers.id').onDelete('set null'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('last_activity_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema
    .createIndex('conversations_customer_idx')
    .on('conversations')
    .columns(['customer_id', 'last_activity_at'])
    .execute();
  await db.schema
    .createIndex('conversations_recent_idx')
    .on('conversations')
    .columns(['channel', 'tenant', 'last_activity_at'])
    .execute();

  await db.schema
    .createTable('messages')
    .addColumn('id', 'text', (c) => c.primaryKey())
    // Equal timestamps are common (a turn's replies share createdAt): seq keeps insertion order.
    .addColumn('seq', 'bigint', (c) => c.notNull().generatedAlwaysAsIdentity().unique())
    .addColumn('conversation_key', 'text', (c) => c.notNull().references('conversations.key'))
    .addColumn('direction', 'text', (c) => c.notNull().check(sql`direction in ('in', 'out')`))
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('text', 'text', (c) => c.notNull())
    .addColumn('in_reply_to', 'text')
    .addColumn('customer_id', 'uuid', (c) => c.references('customers.id').onDelete('set null'))
    .addColumn('locale', 'text')
    .addColumn('source', 'text')
    .addColumn('payload', 'jsonb', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('recorded_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema
    .createIndex('messages_conversation_time_idx')
    .on('messages')
    .columns(['conversation_key', 'created_at', 'seq'])
    .execute();
  await db.schema
    .createIndex('messages_reply_idx')
    .on('messages')
    .columns(['in_reply_to', 'created_at', 'seq'])
    .where(sql.ref('in_reply_to'), 'is not', null)
    .execute();
  await db.schema.createIndex('messages_customer_idx').on('messages').column('customer_id').execute();

  await db.schema
    .createTable('audit_log')
    .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('subject', 'text')
    .addColumn('details', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .execute();
  await db.schema.createIndex('audit_log_at_idx').on('audit_log').column('at').execute();
  await db.schema.createIndex('audit_log_subject_idx').on('audit_log').columns(['subject', 'at']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['audit_log', 'messages', 'conversations', 'channel_identities', 'customers']) {
    await db.schema.dropTable(table).ifExists().execute();
  }
}
