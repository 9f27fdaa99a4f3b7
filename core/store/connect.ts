import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, type LogEvent, PostgresDialect, sql } from 'kysely';
import { PGliteDialect } from 'kysely-pglite-dialect';
import pg from 'pg';
import type { HubConfig } from '../config/schema';
import { dbStatements } from '../metrics';
import { connectionErrorListener, reportConnectionError } from '../resilience/connection-errors';
import { isOutage } from '../resilience/outage';
import { isTlsFailure, type PostgresTlsSettings, postgresConnection } from '../security/tls';
import { HubError } from '../types/errors';
import { messageOf } from './migrate';
import type { Database } from './schema';

/** `database:` of hub.yaml; keys with a default may be left out by callers other than the loader. */
export type DatabaseConfig = Omit<HubConfig['database'], 'poolTimeoutMs'> &
  Partial<Pick<HubConfig['database'], 'poolTimeoutMs'>>;
export type StoreDriver = DatabaseConfig['driver'];

export const IN_MEMORY = 'memory://';

/** What sizes the pool beside the database block: the turns a process runs at once, and its role. */
export interface PoolSizing {
  concurrency?: number;
  role?: HubConfig['server']['role'];
}

/** Connections left for the HTTP side (API keys, reply reads, admin, the ticket outbox) beside the turns. */
const HTTP_SIDE_CONNECTIONS = 10;

/**
 * Connections for turns, at most. A turn holds one only for its few short statements (milliseconds)
 * and spends the rest of its time on the model, so hundreds of concurrent turns need a few dozen:
 * at 200 turns at once against a 64-slot model, 20 connections never made a turn wait (npm run
 * bench:realistic), while 210 overran PostgreSQL's default max_connections of 100.
 */
const TURN_CONNECTIONS_MAX = 20;

/**
 * The pool's size: `database.poolSize`, else one connection per concurrent turn (`bus.concurrency`)
 * up to {@link TURN_CONNECTIONS_MAX}, plus the HTTP side's; an api-only process runs no turns.
 * A turn holds at most one connection at a time (its queries run one after another); a turn that
 * finds none free waits for one, and past `poolTimeoutMs` fails as an outage (it waits on the bus
 * without spending an attempt).
 */
export function poolSizeOf(config: Pick<DatabaseConfig, 'poolSize'>, sizing: PoolSizing = {}): number {
  if (config.poolSize) return config.poolSize;
  if (sizing.role === 'api') return HTTP_SIDE_CONNECTIONS;
  return Math.min(sizing.concurrency ?? 0, TURN_CONNECTIONS_MAX) + HTTP_SIDE_CONNECTIONS;
}

/** Open the configured database and prove it answers; every failure says what to change. */
export async function openDatabase(
  config: DatabaseConfig,
  sizing: PoolSizing = {},
): Promise<Kysely<Database>> {
  return config.driver === 'postgres'
    ? openPostgres(config.url ?? '', config, {
        max: poolSizeOf(config, sizing),
        connectionTimeoutMillis: config.poolTimeoutMs ?? 5_000,
      })
    : openPglite(config.dataDir);
}

async function openPostgres(
  url: string,
  tls: PostgresTlsSettings,
  limits: { max: number; connectionTimeoutMillis: number },
): Promise<Kysely<Database>> {
  const pool = new pg.Pool({
    ...postgresConnection(tls),
    // Fail fast at start-up, under outage and when every connection is busy, instead of hanging a
    // request; the timeout's error is an outage (core/resilience/outage.ts): the turn waits, a
    // request answers 503.
    ...limits,
    application_name: 'omnichannel-hub',
  });
  // A client the server drops (FATAL 57P01 on a restart, a reset socket) emits 'error'; unheard,
  // that kills the process. The pool listens only while a client is idle, so every client gets a
  // listener of its own for its whole life, checked out included; the pool then discards it.
  const onClientError = connectionErrorListener('database');
  const names = new Map<string, string>();
  pool.on('connect', (client) => {
    client.on('error', onClientError);
    preparesMarkedStatements(client, names);
  });
  // The pool re-emits an idle client's error, already reported by the client's own listener above.
  pool.on('error', () => {});
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }), log: logQueries('postgres') });
  try {
    await sql`select 1`.execute(db);
  } catch (error) {
    await db.destroy().catch(() => {});
    throw postgresError(url, error);
  }
  return db;
}

/**
 * Leads a statement that PostgreSQL should parse and plan once per connection, not on every call:
 * a large statement run on every turn (the turn's write). Kysely has no prepared statements; the
 * pool's clients see the mark and send the statement named (`pg`'s `{ name, text, values }`), so
 * each connection prepares it on first use and afterwards only binds and executes it. PGlite reads
 * the mark as the comment it is.
 */
const PREPARED_MARK = '/* hub:prepared */ ';
export const PREPARED = sql.raw(PREPARED_MARK);
/** Distinct prepared texts per pool (the turn's write has a few shapes); past this, texts run unnamed. */
const MAX_PREPARED = 64;

/**
 * Wraps a pool client's `query` so a statement that starts with {@link PREPARED}'s mark goes named:
 * the name is a hash of the text, so one text always has one name on every connection.
 */
function preparesMarkedStatements(client: pg.PoolClient, names: Map<string, string>): void {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  const prepared = (text: string): string | undefined => {
    let name = names.get(text);
    if (name === undefined && names.size < MAX_PREPARED) {
      name = `hub_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`;
      names.set(text, name);
    }
    return name;
  };
  (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
    const [text, values, ...rest] = args;
    const name = typeof text === 'string' && text.startsWith(PREPARED_MARK) ? prepared(text) : undefined;
    return name === undefined ? query(...args) : query({ name, text, values }, ...rest);
  };
}

/**
 * Kysely's one hook on every statement it sends, transaction control included (its drivers run
 * BEGIN/COMMIT/ROLLBACK on the same logged connection): each is counted on
 * `hub_db_statements_total`, and the failures go on to {@link countOutageQueries}.
 */
function logQueries(driver: StoreDriver): (event: LogEvent) => void {
  const statements = dbStatements.labels({ driver });
  return (event) => {
    statements.inc();
    if (event.level === 'error') countOutageQueries(event);
  };
}

/**
 * A query that failed because the database is down or its engine broke counts as a connection
 * error; the caller decides what to do (the bus waits and retries). A query's own errors (a unique
 * key, bad input) are the caller's business and are not counted.
 */
function countOutageQueries(event: LogEvent): void {
  if (event.level === 'error' && (isOutage(event.error) || isEngineFailure(event.error))) {
    reportConnectionError('database', event.error);
  }
}

/** PGlite runs in WebAssembly: an abort there is a RuntimeError, not a SQL error with a SQLSTATE. */
function isEngineFailure(error: unknown): boolean {
  return (
    error instanceof Error && (error.name === 'RuntimeError' || /^PGlite is clos(ed|ing)/.test(error.message))
  );
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
        : isTlsFailure(reason)
          ? `the TLS connection failed (${reason}). Fix: set database.tls.caFile to the CA that signed the server's certificate, check that the certificate names the host in database.url, and that the server has ssl = on`
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

/**
 * PostgreSQL's default shared_buffers (128 MB) lives inside PGlite's WebAssembly memory, which never
 * shrinks: one embedded hub with one connection reads a few megabytes of hot rows, and the files it
 * reads are in the OS page cache anyway. 16 MB measured about 150 MB less resident memory at idle.
 */
export const EMBEDDED_SHARED_BUFFERS = '16MB';
const PGLITE_OPTIONS = {
  startParams: [...PGlite.defaultStartParams, '-c', `shared_buffers=${EMBEDDED_SHARED_BUFFERS}`],
};

async function openPglite(dataDir: string): Promise<Kysely<Database>> {
  let client: PGlite;
  try {
    if (dataDir === IN_MEMORY) {
      client = await PGlite.create(PGLITE_OPTIONS);
    } else {
      const path = resolve(dataDir);
      await mkdir(dirname(path), { recursive: true });
      client = await PGlite.create(path, PGLITE_OPTIONS);
    }
  } catch (error) {
    throw new HubError(
      'store.unavailable',
      `Cannot open the embedded database at ${dataDir}: ${messageOf(error)}. Fix: point database.dataDir at a writable directory (or "${IN_MEMORY}"), and make sure no other hub process uses it.`,
      { cause: error },
    );
  }
  return new Kysely<Database>({ dialect: new PGliteDialect(client), log: logQueries('pglite') });
}
