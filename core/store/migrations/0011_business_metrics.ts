import type { Kysely } from 'kysely';

/**
 * Business metrics (core/analytics): one fact per turn and one row per conversation, from which
 * the figures of README "Business metrics" are computed. Ids, enums and numbers only: no message
 * text, and the conversation is named by a hash of its key (a platform id can be a phone number).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('conversation_outcomes')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('conversation_hash', 'text', (c) => c.notNull())
    .addColumn('tenant', 'text', (c) => c.notNull())
    .addColumn('channel', 'text', (c) => c.notNull())
    .addColumn('language', 'text')
    .addColumn('intent', 'text')
    .addColumn('day', 'date', (c) => c.notNull())
    .addColumn('started_at', 'timestamptz', (c) => c.notNull())
    .addColumn('last_customer_at', 'timestamptz', (c) => c.notNull())
    .addColumn('turns', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('first_response_ms', 'integer')
    .addColumn('unanswered_turns', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('left_waiting', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('handed_off_at', 'timestamptz')
    .addColumn('csat_score', 'smallint')
    .addColumn('csat_scale', 'text')
    .addColumn('helpful_yes', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('helpful_no', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('llm_fallbacks', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema
    .createIndex('conversation_outcomes_hash_idx')
    .on('conversation_outcomes')
    .columns(['conversation_hash', 'started_at'])
    .execute();
  await db.schema
    .createIndex('conversation_outcomes_day_idx')
    .on('conversation_outcomes')
    .columns(['tenant', 'day'])
    .execute();
  await db.schema
    .createTable('turn_facts')
    .addColumn('event_id', 'text', (c) => c.primaryKey())
    .addColumn('conversation_id', 'text', (c) => c.notNull())
    .addColumn('tenant', 'text', (c) => c.notNull())
    .addColumn('channel', 'text', (c) => c.notNull())
    .addColumn('customer', 'boolean', (c) => c.notNull())
    .addColumn('language', 'text')
    .addColumn('intent', 'text')
    .addColumn('confidence_bucket', 'smallint')
    .addColumn('decision', 'text')
    .addColumn('answer_ran', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('unanswered', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('llm_fallback', 'text')
    .addColumn('feedback', 'text')
    .addColumn('csat_score', 'smallint')
    .addColumn('survey_asked', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('handoff', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('awaiting', 'text')
    .addColumn('replies', 'smallint', (c) => c.notNull().defaultTo(0))
    .addColumn('response_ms', 'integer')
    .addColumn('day', 'date', (c) => c.notNull())
    .addColumn('at', 'timestamptz', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('turn_facts_day_idx').on('turn_facts').columns(['tenant', 'day']).execute();
  await db.schema
    .createIndex('turn_facts_conversation_idx')
    .on('turn_facts')
    .columns(['conversation_id'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('turn_facts').ifExists().execute();
  await db.schema.dropTable('conversation_outcomes').ifExists().execute();
}
