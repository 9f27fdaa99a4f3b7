import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, PostgresDialect, sql } from 'kysely';
import { PGliteDialect } from 'kysely-pglite-dialect';
import pg from 'pg';
import type { HubConfig } from '../config/schema';
import { logger } from '../log';
import { HubError } from '../types/errors';
import { messageOf } from './migrate';
import type { Database } from './schema';

export type DatabaseConfig = HubConfig['database'];
export type StoreDriver = DatabaseConfig['driver'];

export const IN_MEMORY = 'memory://';

/** Open the configured database and prove it answers; every failure says what to change. */
export async function openDatabase(config: DatabaseConfig): Promise<Kysely<Database>> {
  return config.driver === 'postgres' ? openPostgres(config.url ?? '') : openPglite(config.dataDir);
}

async function openPostgres(url: string): Promise<Kysely<Database>> {
  const pool = new pg.Pool({
    connectionString: url,
    // Fail fast at start-up and under outage instead of hanging a request for the OS TCP timeout.
    connectionTimeoutMillis: 5_000,
    application_name: 'omnichannel-hub',
  });
  // An idle client dropped by the server emits on the pool; unhandled, that would kill the process.
  pool.on('error', (error) => logger.warn({ err: error }, 'idle PostgreSQL connection failed'));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  try {
    await sql`select 1`.execute(db);
  } catch (error) {
    await db.destroy().catch(() => {});
    throw postgresError(url, error);
  }
  return db;
}

function postgresError(url: string, error: unknown): HubError {
  const where = `PostgreSQL at ${redactUrl(url)}`;
  const code = errorCode(error);
  const reason = messageOf(error) || code || 'unknown error';
  const fix =
    code === '3D000'
      ? `the database does not exist. Fix: create it (createdb <name>) or fix database.url`
      : code === '28P01' || code === '28000'
        ? `it refused the credentials (${reason}). Fix: correct the user/password in database.url`
        : `is unreachable (${reason}). Fix: start PostgreSQL, or fix database.url, or set database.driver: pglite to use the embedded database`;
  return new HubError('store.unavailable', `${where}: ${fix}.`, {
    cause: error,
    retryable: true,
    status: 503,
  });
}

/** Node reports a refused dual-stack connect as an AggregateError whose own message is empty. */
function errorCode(error: unknown): string | undefined {
  const e = error as { code?: unknown; errors?: Array<{ code?: unknown }> } | undefined;
  const code = e?.code ?? e?.errors?.[0]?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Connection strings go into error messages and logs: never with the password. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparsable database.url)';
  }
}

async function openPglite(dataDir: string): Promise<Kysely<Database>> {
  let client: PGlite;
  try {
    if (dataDir === IN_MEMORY) {
      client = await PGlite.create();
    } else {
      const path = resolve(dataDir);
      await mkdir(dirname(path), { recursive: true });
      client = await PGlite.create(path);
    }
  } catch (error) {
    throw new HubError(
      'store.unavailable',
      `Cannot open the embedded database at ${dataDir}: ${messageOf(error)}. Fix: point database.dataDir at a writable directory (or "${IN_MEMORY}"), and make sure no other hub process uses it.`,
      { cause: error },
    );
  }
  return new Kysely<Database>({ dialect: new PGliteDialect(client) });
}
