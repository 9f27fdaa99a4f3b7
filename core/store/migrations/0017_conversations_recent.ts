import type { Kysely } from 'kysely';

/**
 * The console's conversation search (core/console/conversations.ts) lists conversations newest
 * activity first across channels and tenants; `conversations_recent_idx` leads with the channel and
 * tenant, so without this index every search sorted the whole table. Walking this one, a page is
 * read from its start, and a search by outcome or rating stops once the page is full.
 * `Kysely<unknown>`: a migration is frozen history.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createIndex('conversations_activity_idx')
    .on('conversations')
    .columns(['last_activity_at desc', 'key desc'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('conversations_activity_idx').ifExists().execute();
}
