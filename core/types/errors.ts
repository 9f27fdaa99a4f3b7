/** Coded error: a stable string code, a cause, and whether retrying can help. */
export class HubError extends Error {
  readonly code: string;
  readonly retryable: boolean;
  readonly status: number;
  /** Sent as Retry-After with the HTTP answer (a 429 or a 503): when trying again may succeed. */
  readonly retryAfterSeconds?: number;

  constructor(
    code: string,
    message: string,
    options: { cause?: unknown; retryable?: boolean; status?: number; retryAfterSeconds?: number } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HubError';
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.status = options.status ?? 500;
    if (options.retryAfterSeconds !== undefined) this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

export function isRetryable(error: unknown): boolean {
  return error instanceof HubError ? error.retryable : true;
}
