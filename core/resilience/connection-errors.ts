import { logger } from '../log';
import { connectionErrors } from '../metrics';
import { isOutage } from './outage';

/** While a dependency is down its clients report every reconnect try: log the first, then a summary at most this often. */
const LOG_EVERY_MS = 10_000;

const lastLogged = new Map<string, { at: number; suppressed: number }>();

/**
 * The error's own code (SQLSTATE, errno code such as ECONNREFUSED, HubError code), the first code
 * of an AggregateError (a refused dual-stack connect), or else its class: a label for the metric.
 */
export function connectionErrorCode(error: unknown): string {
  const e = error as { code?: unknown; name?: unknown; errors?: Array<{ code?: unknown }> } | undefined;
  const code = e?.code ?? e?.errors?.find((inner) => typeof inner?.code === 'string')?.code;
  if (typeof code === 'string' && code !== '') return code;
  if (typeof code === 'number') return String(code);
  return typeof e?.name === 'string' && e.name !== '' ? e.name : 'unknown';
}

/**
 * The one handler for an error event of a connection (pg client or pool, ioredis, BullMQ): count
 * it, log it with its cause, and return. Listening is what keeps the process alive: an 'error'
 * event nobody listens to is thrown and kills it. The client itself reconnects (ioredis) or is
 * discarded by its pool (pg), so there is nothing else to do here.
 */
export function reportConnectionError(
  component: string,
  error: unknown,
  purpose?: string,
  now = Date.now(),
): void {
  const own = connectionErrorCode(error);
  // A driver's uncoded plain Error here is a dropped socket ("Connection terminated unexpectedly").
  const code = own === 'Error' ? 'connection_lost' : own;
  connectionErrors.inc({ component, code });
  const key = `${component}|${purpose ?? ''}|${code}`;
  const last = lastLogged.get(key);
  if (last && now - last.at < LOG_EVERY_MS) {
    last.suppressed++;
    return;
  }
  lastLogged.set(key, { at: now, suppressed: 0 });
  const repeated = last?.suppressed ? { repeatedSinceLastLog: last.suppressed } : {};
  const where = purpose ? `${component} (${purpose})` : component;
  logger.warn({ err: error, component, purpose, code, ...repeated }, `${where} connection error (${code})`);
}

/** A listener for a connection's `on('error', ...)`; `purpose` says which of the component's connections. */
export const connectionErrorListener =
  (component: string, purpose?: string) =>
  (error: unknown): void =>
    reportConnectionError(component, error, purpose);

/**
 * A listener for emitters whose 'error' event carries connection errors and others alike (BullMQ's
 * Queue and Worker): the first are reported as above, the rest logged as errors with `what`.
 */
export const errorEventListener =
  (component: string, what: string) =>
  (error: unknown): void => {
    if (isOutage(error)) reportConnectionError(component, error);
    else logger.error({ err: error, component }, what);
  };
