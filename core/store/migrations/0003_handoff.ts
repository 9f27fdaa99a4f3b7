import { type Kysely, sql } from 'kysely';

/**
 * The helpdesk → customer loop: helpdesk webhooks name a ticket by the helpdesk's own id, so the
 * hub finds the conversation by (adapter, external_id); the demo helpdesk records who took a ticket.
 * `Kysely<unknown>`: a migration is frozen history.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createIndex('ticket_requests_external_idx')
    .on('ticket_requests')
    .columns(['adapter', 'external_id'])
    .where(sql.ref('external_id'), 'is not', null)
    .execute();
  await db.schema.alterTable('demo_tickets').addColumn('assignee', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('demo_tickets').dropColumn('assignee').execute();
  await db.schema.dropIndex('ticket_requests_external_idx').ifExists().execute();
}
