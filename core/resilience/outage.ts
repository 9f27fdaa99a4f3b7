import { HubError } from '../types/errors';

/**
 * Hub error codes that say "a dependency is down right now", not "this request is wrong": the
 * database not answering, and any breaker that is open (`<area>.circuit_open`). Redis errors reach
 * the bus unwrapped and are known by their messages below.
 */
const OUTAGE_CODES = new Set(['store.unavailable']);
const BREAKER_OPEN = /\.circuit_open$/;

/** Socket failures of a server that is not there (stopped, restarting, unreachable). */
const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);

/**
 * PostgreSQL SQLSTATEs of a server going away, not yet back or full: class 08 (connection
 * exception), 57P01 admin_shutdown (a fast stop), 57P02 crash_shutdown, 57P03 cannot_connect_now
 * (starting up or shutting down), 53300 too_many_connections (every slot of max_connections taken:
 * the work waits for one, it is not bad).
 */
const POSTGRES_DOWN = /^(08[0-9A-Z]{3}|57P0[123]|53300)$/;

/**
 * Messages of client libraries that carry no code: node-postgres losing or not getting its socket,
 * ioredis with its connection closed or its offline queue exhausted, Redis while loading, failing
 * over or with its cluster down.
 */
const DOWN_MESSAGES = [
  /^Connection terminated/, // pg: "... unexpectedly", "... due to connection timeout"
  /^timeout exceeded when trying to connect/, // pg-pool
  /^Client (has encountered a connection error|was closed) and is not queryable/, // pg, a broken client
  /^Connection is closed\.?$/, // ioredis
  /^Reached the max retries per request limit/, // ioredis MaxRetriesPerRequestError
  /^Stream isn't writeable/, // ioredis with the offline queue off
  /^(LOADING|MASTERDOWN|CLUSTERDOWN|TRYAGAIN) /, // Redis replies while it cannot serve
];

/**
 * Whether `error` means a piece of infrastructure is down (database, Redis, a dependency whose
 * breaker is open) rather than that this piece of work is bad. Work that failed this way is not
 * a poison message: it should wait for the dependency and try again, without using up its
 * attempts. The one place the hub decides this; the error's causes are searched too, since
 * stores and clients wrap what the driver threw.
 */
export function isOutage(error: unknown): boolean {
  return someCause(error, isOwnOutage);
}

/** `isOutage` for the error itself, its causes not searched. */
export function isOwnOutage(error: object): boolean {
  if (error instanceof HubError && (OUTAGE_CODES.has(error.code) || BREAKER_OPEN.test(error.code)))
    return true;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && (SOCKET_CODES.has(code) || POSTGRES_DOWN.test(code))) return true;
  const message = error instanceof Error ? error.message : '';
  return DOWN_MESSAGES.some((pattern) => pattern.test(message));
}

/** Tries `test` on the error, its `cause` chain and an AggregateError's errors, a few levels deep. */
function someCause(error: unknown, test: (cause: object) => boolean, depth = 0): boolean {
  if (typeof error !== 'object' || error === null || depth > 5) return false;
  if (test(error)) return true;
  const { cause, errors } = error as { cause?: unknown; errors?: unknown };
  if (Array.isArray(errors) && errors.some((inner) => someCause(inner, test, depth + 1))) return true;
  return someCause(cause, test, depth + 1);
}
