import type { Kysely } from 'kysely';

/**
 * Knowledge drafts (core/knowledge-gaps): an entry written for a cluster of questions the bot could
 * not answer, reviewed by a supervisor and published into the knowledge base. A published row is
 * itself the entry's durable copy: every worker loads the published rows with the knowledge folder
 * at start and polls `knowledge_drafts_published_idx` for new ones. Questions are stored masked
 * (core/privacy placeholders); `question_ids` are keyed pseudonyms of the turns they came from,
 * so the gaps page can tell which questions a draft already covers. Authors are kept as the audit
 * trail names them (`operator:<id>`) and by the display name the console shows.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('knowledge_drafts')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant', 'text', (c) => c.notNull())
    .addColumn('language', 'text', (c) => c.notNull())
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('questions', 'jsonb', (c) => c.notNull())
    .addColumn('question_ids', 'jsonb', (c) => c.notNull())
    .addColumn('answer', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_by_name', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('updated_by', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
    .addColumn('reviewed_by', 'text')
    .addColumn('reviewed_by_name', 'text')
    .addColumn('reviewed_at', 'timestamptz')
    .execute();
  await db.schema
    .createIndex('knowledge_drafts_tenant_idx')
    .on('knowledge_drafts')
    .columns(['tenant', 'status', 'updated_at'])
    .execute();
  await db.schema
    .createIndex('knowledge_drafts_published_idx')
    .on('knowledge_drafts')
    .columns(['status', 'reviewed_at'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('knowledge_drafts').ifExists().execute();
}
