import type { Kysely } from 'kysely';
import { Migrator } from 'kysely/migration';
import { HubError } from '../types/errors';
import { migrationProvider } from './migrations/index';

/** Where Kysely records applied migrations (its defaults, named here so tests and tools agree). */
export const MIGRATION_TABLE = 'kysely_migration';

/**
 * Apply pending migrations; a no-op when the schema is current. Kysely takes an advisory lock, so
 * two processes starting against one PostgreSQL do not race. Numbers may have gaps (there is no
 * 0009), and a database migrated to a later number before an earlier one was added (0011 before
 * 0010) gets the earlier one applied: each migration stands on its own tables.
 */
export async function migrateToLatest<DB>(db: Kysely<DB>): Promise<string[]> {
  const migrator = new Migrator({
    db,
    provider: migrationProvider,
    migrationTableName: MIGRATION_TABLE,
    allowUnorderedMigrations: true,
  });
  const { error, results = [] } = await migrator.migrateToLatest();
  const failed = results.find((r) => r.status === 'Error');
  if (error !== undefined) {
    const which = failed ? `migration ${failed.migrationName}` : 'migrations';
    throw new HubError(
      'store.migration_failed',
      `Database ${which} failed: ${messageOf(error)}. Fix: check the database user may create tables, or restore the database this hub last migrated.`,
      { cause: error },
    );
  }
  return results.filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
