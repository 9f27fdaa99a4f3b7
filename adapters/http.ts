import { parseRetryAfter } from '../core/resilience/retry-after';
import { AdapterError, AdapterErrorCodes } from '../core/types';

export interface HttpRequest {
  method?: string;
  headers?: Record<string, string>;
  /** Serialized as JSON unless it is already a string or URLSearchParams. */
  body?: unknown;
  signal?: AbortSignal;
  /** Per-request cap, combined with the caller's signal. */
  timeoutMs: number;
}

export interface HttpResponse<T> {
  status: number;
  headers: Headers;
  body: T;
}

/**
 * One HTTP call from an adapter to a back office. Every failure becomes an AdapterError with a
 * code the outbox understands: 401/403 auth, 404 not found, 409 conflict, 400/422 invalid,
 * 429 rate limited (Retry-After kept), 5xx/network unavailable, deadline timeout. The message
 * names the system and the status, never the request body (it can hold customer data).
 */
export async function requestJson<T = unknown>(
  system: string,
  url: string,
  request: HttpRequest,
): Promise<HttpResponse<T>> {
  const response = await requestText(system, url, {
    ...request,
    headers: { accept: 'application/json', ...request.headers },
  });
  let parsed: unknown;
  try {
    parsed = response.body ? JSON.parse(response.body) : undefined;
  } catch (error) {
    throw new AdapterError(
      AdapterErrorCodes.unavailable,
      `${system} answered ${response.status} with non-JSON`,
      {
        cause: error,
        retryable: true,
        status: 502,
      },
    );
  }
  return { ...response, body: parsed as T };
}

/** `requestJson` for an answer that is not JSON (an OData `$metadata` document): the body as text. */
export async function requestText(
  system: string,
  url: string,
  request: HttpRequest,
): Promise<HttpResponse<string>> {
  const timeout = AbortSignal.timeout(request.timeoutMs);
  const signal = request.signal ? AbortSignal.any([request.signal, timeout]) : timeout;
  const headers: Record<string, string> = { ...request.headers };
  let body: string | URLSearchParams | undefined;
  if (request.body instanceof URLSearchParams || typeof request.body === 'string') body = request.body;
  else if (request.body !== undefined) {
    body = JSON.stringify(request.body);
    headers['content-type'] ??= 'application/json';
  }
  let response: Response;
  try {
    response = await fetch(url, { method: request.method ?? 'GET', headers, body, signal });
  } catch (error) {
    if (signal.aborted) {
      throw new AdapterError(AdapterErrorCodes.timeout, `${system}: no answer before the deadline`, {
        cause: error,
        retryable: true,
        status: 504,
      });
    }
    throw new AdapterError(AdapterErrorCodes.unavailable, `${system} is unreachable: ${messageOf(error)}`, {
      cause: error,
      retryable: true,
      status: 503,
    });
  }
  const text = await response.text().catch(() => '');
  if (!response.ok) throw statusError(system, response, text);
  return { status: response.status, headers: response.headers, body: text };
}

function statusError(system: string, response: Response, text: string): AdapterError {
  const status = response.status;
  const detail = text.slice(0, 200).replace(/\s+/g, ' ');
  const message = `${system} answered ${status}${detail ? `: ${detail}` : ''}`;
  if (status === 401 || status === 403) {
    return new AdapterError(
      AdapterErrorCodes.auth,
      `${message}. Fix: check the ${system} credentials in the environment`,
      { status },
    );
  }
  if (status === 404) return new AdapterError(AdapterErrorCodes.notFound, message, { status });
  if (status === 409)
    return new AdapterError(AdapterErrorCodes.conflict, message, { status, retryable: true });
  if (status === 429) {
    return new AdapterError(AdapterErrorCodes.rateLimited, message, {
      status,
      retryable: true,
      retryAfterMs: parseRetryAfter(response.headers.get('retry-after')),
    });
  }
  if (status >= 500)
    return new AdapterError(AdapterErrorCodes.unavailable, message, { status, retryable: true });
  return new AdapterError(AdapterErrorCodes.invalid, message, { status });
}

export function messageOf(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as { cause?: unknown }).cause;
    return cause instanceof Error ? `${error.message} (${cause.message})` : error.message;
  }
  return String(error);
}

export function basicAuth(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

/**
 * What `call` resolves to, or undefined when it fails as not found (the back office answered 404,
 * or the id cannot name a record there).
 */
export async function unlessNotFound<T>(call: () => Promise<T>): Promise<T | undefined> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof AdapterError && error.code === AdapterErrorCodes.notFound) return undefined;
    throw error;
  }
}

/** One JSON call to `base` + `path` with a fixed authorization header, bounded by the caller's signal. */
export type JsonCall = <T>(
  method: string,
  path: string,
  ctx: { signal?: AbortSignal },
  body?: unknown,
) => Promise<HttpResponse<T>>;

/** The `JsonCall` of an adapter whose every request carries the same authorization header. */
export function jsonCaller(system: string, base: string, authorization: string, timeoutMs: number): JsonCall {
  return <T>(method: string, path: string, ctx: { signal?: AbortSignal }, body?: unknown) =>
    requestJson<T>(system, `${base}${path}`, {
      method,
      body,
      headers: { authorization },
      signal: ctx.signal,
      timeoutMs,
    });
}
