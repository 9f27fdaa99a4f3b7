import type { Kysely } from 'kysely';

/**
 * A comment may carry the ticket status to set once it is on the ticket: a customer who cancels
 * the handoff leaves the bot's note and the ticket solved, in that order, through the same outbox
 * (core/tickets/comment-outbox.ts). NULL: a comment only. `Kysely<unknown>`: a migration is frozen history.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('ticket_comments').addColumn('set_status', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('ticket_comments').dropColumn('set_status').execute();
}
