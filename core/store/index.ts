import type { HubConfig } from '../config/schema';
import { AtRest } from '../privacy/at-rest';
import { resolveDataKeys } from '../privacy/data-keys';
import type { PrivacyConfig } from '../privacy/schema';
import { resolveAuditKey } from '../security/audit-key';
import { type DatabaseConfig, IN_MEMORY, openDatabase } from './connect';
import { KyselyStore } from './kysely-store';

export { AtRest, atRestOf } from './at-rest';
export { type AuditAppend, AuditLog, type AuditVerification, type ChainedAuditRecord } from './audit-log';
export { IN_MEMORY, type PoolSizing, poolSizeOf, redactUrl, type StoreDriver } from './connect';
export {
  type AuditEntry,
  type AuditRecord,
  DEFAULT_AUDIT_LIMIT,
  DEFAULT_TRANSCRIPT_LIMIT,
  KyselyStore,
} from './kysely-store';
export { MIGRATION_TABLE, migrateToLatest } from './migrate';
export { migrations } from './migrations/index';
export type { Database } from './schema';

/**
 * Open the configured database (PostgreSQL, or embedded PGlite), bring its schema up to date and
 * return the store. Throws HubError `store.unavailable` / `store.migration_failed` with the fix in
 * the message, so a misconfigured hub stops at start-up rather than at the first customer message.
 */
export async function createStore(config: {
  database: DatabaseConfig;
  audit?: Partial<HubConfig['audit']>;
  privacy?: { atRest?: Partial<PrivacyConfig['atRest']> };
  bus?: Pick<HubConfig['bus'], 'concurrency'>;
  server?: Pick<HubConfig['server'], 'role'>;
}): Promise<KyselyStore> {
  const inMemory = config.database.driver === 'pglite' && config.database.dataDir === IN_MEMORY;
  const auditKey = await resolveAuditKey({ inMemory, keyFile: config.audit?.keyFile });
  const dataKeys = await resolveDataKeys({ inMemory, keyFile: config.privacy?.atRest?.keyFile });
  const store = new KyselyStore(
    await openDatabase(config.database, {
      concurrency: config.bus?.concurrency,
      role: config.server?.role,
    }),
    config.database.driver,
    auditKey,
    new AtRest(dataKeys),
  );
  try {
    await store.migrate();
  } catch (error) {
    await store.close().catch(() => {});
    throw error;
  }
  return store;
}
