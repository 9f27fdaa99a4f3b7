import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai/error';
import { HubError } from '../types/errors';

/** Why an attempt ended, as seen from our own abort signals (the SDK cannot tell them apart). */
export interface AbortCause {
  timedOut: boolean;
  callerAborted: boolean;
}

/**
 * Translate whatever the SDK threw into a coded HubError. `status` is what the hub would answer
 * upstream: 504 for timeouts, 503 while the model server is unavailable, 502 when it refuses us.
 */
export function toLlmError(error: unknown, cause: AbortCause): HubError {
  if (error instanceof HubError) return error;
  if (cause.timedOut || error instanceof APIConnectionTimeoutError) {
    return new HubError('llm.timeout', 'LLM request timed out', {
      cause: error,
      retryable: true,
      status: 504,
    });
  }
  if (cause.callerAborted || error instanceof APIUserAbortError) {
    return new HubError('llm.aborted', 'LLM request aborted by the caller', { cause: error, status: 499 });
  }
  if (error instanceof APIConnectionError) {
    return new HubError('llm.unavailable', `LLM server unreachable: ${error.message}`, {
      cause: error,
      retryable: true,
      status: 503,
    });
  }
  if (error instanceof APIError && error.status !== undefined) {
    const status = error.status;
    const detail = `LLM server answered ${status}: ${error.message}`;
    if (status === 429)
      return new HubError('llm.rate_limited', detail, { cause: error, retryable: true, status });
    if (status === 401 || status === 403) {
      return new HubError('llm.unauthorized', `${detail} (check llm.apiKey)`, { cause: error, status: 502 });
    }
    if (status === 408 || status === 409 || status >= 500) {
      return new HubError('llm.unavailable', detail, { cause: error, retryable: true, status: 503 });
    }
    return new HubError('llm.bad_request', detail, { cause: error, status: 502 });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new HubError('llm.error', `LLM call failed: ${message}`, { cause: error, status: 502 });
}

/**
 * Whether the client retries this error itself. Timeouts are retryable for the caller but not
 * here: another full timeout would blow the turn's latency budget, and the dialog has an
 * extractive fallback.
 */
export function retriesInternally(error: HubError): boolean {
  return error.code === 'llm.unavailable' || error.code === 'llm.rate_limited';
}

/** Whether the error says something about the server's health, and so counts toward opening the circuit. */
export function isServerFailure(error: HubError): boolean {
  return ['llm.timeout', 'llm.unavailable', 'llm.rate_limited', 'llm.unauthorized'].includes(error.code);
}

/** Server-requested wait from `retry-after-ms` or `retry-after` (seconds or an HTTP date), if any. */
export function retryAfterMs(error: HubError, now = Date.now()): number | undefined {
  const headers = error.cause instanceof APIError ? error.cause.headers : undefined;
  if (!headers) return undefined;
  const millis = Number.parseFloat(headers.get('retry-after-ms') ?? '');
  if (Number.isFinite(millis) && millis >= 0) return millis;
  const value = headers.get('retry-after');
  if (!value) return undefined;
  const seconds = Number.parseFloat(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
