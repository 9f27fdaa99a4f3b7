import { type AdapterCallContext, AdapterError, AdapterErrorCodes } from '../core/types';
import { HubError } from '../core/types/errors';

/**
 * The per-request cap an adapter is built with for `hub validate --online`: the check's own
 * deadline (its signal, 15 s by default) always ends the call first.
 */
export const ONLINE_REQUEST_TIMEOUT_MS = 60_000;

/** The call context of a check: a read on no customer's behalf, with nothing to make idempotent. */
export function onlineContext(signal: AbortSignal): AdapterCallContext {
  return { tenant: 'default', idempotencyKey: 'hub-validate-online', signal };
}

/** Which keys to correct, in the words of the config file. */
export interface OnlineFixes {
  /** e.g. "ticketing.zendesk.email and apiToken (ZENDESK_API_TOKEN)". */
  credentials: string;
  /** e.g. "ticketing.zendesk.baseUrl". */
  url: string;
}

/** What `call` resolves to; a failure reworded as `<what>: <what went wrong>. Fix: <how>.` */
export async function probe<T>(what: string, fixes: OnlineFixes, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw onlineFailure(what, fixes, error);
  }
}

function onlineFailure(what: string, fixes: OnlineFixes, error: unknown): HubError {
  // The adapter's own fix is worded for the outbox log; the check names the config keys instead.
  const reason = (error as Error).message.replace(/\.? Fix: .*$/s, '');
  const code = error instanceof HubError ? error.code : 'online.failed';
  return new HubError(code, `${what}: ${reason}. Fix: ${fixOf(error, fixes)}.`, { cause: error });
}

function fixOf(error: unknown, fixes: OnlineFixes): string {
  if (!(error instanceof AdapterError)) return `check ${fixes.url} and the network`;
  switch (error.code) {
    case AdapterErrorCodes.auth:
      return error.status === 403
        ? `check ${fixes.credentials}, and that this user may read what the hub reads`
        : `check ${fixes.credentials}`;
    case AdapterErrorCodes.notFound:
      return `check ${fixes.url}: nothing answers there`;
    case AdapterErrorCodes.rateLimited:
      return 'retry in a minute';
    case AdapterErrorCodes.timeout:
      return `check ${fixes.url} and the network`;
    case AdapterErrorCodes.unavailable:
      return (error.status ?? 0) === 503 && /unreachable/.test(error.message)
        ? `check ${fixes.url} and the network`
        : 'retry later; the service may be down';
    default:
      return `check ${fixes.url} and the rest of the block`;
  }
}
