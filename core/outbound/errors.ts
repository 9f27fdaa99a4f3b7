import { HubError } from '../types';

/**
 * A failed platform call. `retryAfterMs` carries the platform's 429 `Retry-After`/`retry_after`;
 * `scope` is the rate key the platform throttled (a chat, a workspace), blocked for that long.
 */
export class DeliveryError extends HubError {
  readonly retryAfterMs?: number;
  readonly scope?: string;

  constructor(
    code: string,
    message: string,
    options: { cause?: unknown; retryable?: boolean; retryAfterMs?: number; scope?: string } = {},
  ) {
    super(code, message, {
      cause: options.cause,
      retryable: options.retryable ?? options.retryAfterMs !== undefined,
      status: 502,
    });
    this.name = 'DeliveryError';
    this.retryAfterMs = options.retryAfterMs;
    this.scope = options.scope;
  }
}
