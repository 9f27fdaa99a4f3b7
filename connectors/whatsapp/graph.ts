import { DeliveryError } from '../../core/outbound/errors';
import { parseRetryAfter } from '../../core/resilience/retry-after';

const CALL_TIMEOUT_MS = 15_000;

export interface GraphClientOptions {
  graphApiUrl: string;
  apiVersion: string;
  accessToken: string;
  phoneNumberId: string;
}

/** A refused Graph API call with Meta's error object (https://developers.facebook.com/docs/graph-api/guides/error-handling). */
export class GraphApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: number | undefined,
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'GraphApiError';
  }
}

/** The media object (`GET /{media-id}`): a short-lived download URL and what it holds. */
export interface MediaInfo {
  url: string;
  mime_type?: string;
  sha256?: string;
  file_size?: number;
}

export interface GraphClient {
  /** POST /{phone-number-id}/messages; returns the wamid of a sent message. */
  postMessage(payload: Record<string, unknown>): Promise<string | undefined>;
  /** GET /{phone-number-id}: proves token and number id together. */
  getPhoneNumber(): Promise<{ id?: string; display_phone_number?: string; verified_name?: string }>;
  /** GET /{media-id}: the short-lived URL of a customer's upload, its type, hash and size. */
  getMedia(mediaId: string): Promise<MediaInfo>;
  /** GET a URL from `getMedia` with the access token; the response body is the caller's to read. */
  openMedia(mediaId: string, url: string): Promise<Response>;
}

export function createGraphClient(options: GraphClientOptions): GraphClient {
  const base = `${options.graphApiUrl.replace(/\/+$/, '')}/${options.apiVersion}`;
  const authorization = `Bearer ${options.accessToken}`;

  async function request(url: string, init: RequestInit = {}): Promise<Response> {
    const response = await fetch(url, {
      ...init,
      headers: { authorization, ...(init.headers as Record<string, string> | undefined) },
      signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
    });
    if (response.ok) return response;
    const body = (await response.json().catch(() => undefined)) as
      | { error?: { code?: number; message?: string; error_data?: { details?: string } } }
      | undefined;
    const error = body?.error;
    throw new GraphApiError(
      response.status,
      error?.code,
      `${response.status}${error?.code ? ` (#${error.code})` : ''}: ${error?.message ?? response.statusText}`,
      parseRetryAfter(response.headers.get('retry-after')),
    );
  }

  return {
    async postMessage(payload) {
      const response = await request(`${base}/${options.phoneNumberId}/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(payload),
      });
      const body = (await response.json()) as { messages?: Array<{ id?: string }> };
      return body.messages?.[0]?.id;
    },
    async getPhoneNumber() {
      const response = await request(
        `${base}/${options.phoneNumberId}?fields=id,display_phone_number,verified_name`,
      );
      return (await response.json()) as { id?: string; display_phone_number?: string };
    },
    async getMedia(mediaId) {
      if (!/^\d+$/.test(mediaId)) throw new GraphApiError(400, 100, `not a media id: ${mediaId}`);
      const meta = (await (await request(`${base}/${mediaId}`)).json()) as Partial<MediaInfo>;
      if (!meta.url) throw new GraphApiError(502, undefined, `media ${mediaId}: no url in the answer`);
      return { ...meta, url: meta.url };
    },
    async openMedia(mediaId, url) {
      // The token goes only where Meta's media lives (HTTPS) or to the configured Graph host itself.
      const target = new URL(url);
      const trusted = target.protocol === 'https:' || target.origin === new URL(options.graphApiUrl).origin;
      if (!trusted)
        throw new GraphApiError(502, undefined, `media ${mediaId}: refusing a non-HTTPS media URL`);
      return request(url);
    },
  };
}

/** Throughput (per number), WABA-level and pair-rate limits: wait, then try again. */
const PHONE_RATE_CODES = new Set([130429, 131057, 4, 80007]);
const PAIR_RATE_CODE = 131056;
/** More than 24 hours since the customer last wrote: only a template gets through. */
export const WINDOW_CLOSED_CODE = 131047;
/** Meta's "temporary" codes: unknown error, service unavailable, generic server error. */
const TRANSIENT_CODES = new Set([1, 2, 131000, 131016, 133004]);

/** A Graph failure as a DeliveryError the scheduler understands: 429s carry a wait and a scope. */
export function toDeliveryError(error: unknown, scopes: { phone: string; pair: string }): DeliveryError {
  if (!(error instanceof GraphApiError)) {
    return new DeliveryError('whatsapp.network', `network error: ${(error as Error).message}`, {
      retryable: true,
      cause: error,
    });
  }
  const { code, status } = error;
  if (code === PAIR_RATE_CODE) {
    return new DeliveryError('whatsapp.pair_rate_limited', error.message, {
      retryAfterMs: error.retryAfterMs ?? 6_000,
      scope: scopes.pair,
      cause: error,
    });
  }
  if ((code !== undefined && PHONE_RATE_CODES.has(code)) || status === 429) {
    return new DeliveryError('whatsapp.rate_limited', error.message, {
      retryAfterMs: error.retryAfterMs ?? (code === 80007 ? 60_000 : 1_000),
      scope: scopes.phone,
      cause: error,
    });
  }
  if (code === 190 || status === 401) {
    return new DeliveryError('whatsapp.unauthorized', `${error.message} (check accessToken)`, {
      cause: error,
    });
  }
  if (code === WINDOW_CLOSED_CODE) {
    return new DeliveryError('whatsapp.window_closed', error.message, { cause: error });
  }
  const transient = status >= 500 || (code !== undefined && TRANSIENT_CODES.has(code));
  return new DeliveryError(`whatsapp.${code ?? `http_${status}`}`, error.message, {
    retryable: transient,
    cause: error,
  });
}
