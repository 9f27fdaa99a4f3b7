import type { Kysely } from 'kysely';

/**
 * The agent workspace (adapters/ticketing/demo): each comment of the embedded helpdesk says what
 * it records — `reply`, `note` (an agent's internal note, never sent to the customer), `assign`,
 * `solve`, `close` — and which agent wrote it, so the workspace can tell a note from the line a
 * take or a solve leaves. Rows written before this migration have neither (the bot's description
 * and the customer's comments carry their author). `Kysely<unknown>`: a migration is frozen history.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('demo_ticket_comments')
    .addColumn('kind', 'text')
    .addColumn('agent', 'text')
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('demo_ticket_comments').dropColumn('kind').dropColumn('agent').execute();
}
