import { type Kysely, sql } from 'kysely';

/**
 * A turn's audit record is written in the turn's one statement, outside the chain
 * (KyselyStore.recordTurn), and chained later by the sealer (core/store/audit-log.ts `seal`). Until then it
 * has no `seq` and carries `pending_mac`, an HMAC of its fields under the audit key: a pending row
 * written or edited without the key is a fault, and the sealer never chains it. The partial index
 * is what the sealer and its probe walk: only the few rows still pending.
 * `Kysely<unknown>`: a migration is frozen history.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('audit_log').addColumn('pending_mac', 'text').execute();
  await db.schema
    .createIndex('audit_log_pending_idx')
    .on('audit_log')
    .column('id')
    .where(sql.ref('seq'), 'is', null)
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('audit_log_pending_idx').ifExists().execute();
  await db.schema.alterTable('audit_log').dropColumn('pending_mac').execute();
}
