/** Coded error: a stable string code, a cause, and whether retrying can help. */
export class HubError extends Error {
  readonly code: string;
  readonly retryable: boolean;
  readonly status: number;
  /** Sent as Retry-After with the HTTP answer (a 429 or a 503): when trying again may succeed. */
  readonly retryAfterSeconds?: number;
  /**
   * A 5xx the hub answers on purpose (admission control shedding load), not a fault: logged as a
   * rejection, not an error, and its message, written for the client, is sent as it is.
   */
  readonly refusal: boolean;

  constructor(
    code: string,
    message: string,
    options: {
      cause?: unknown;
      retryable?: boolean;
      status?: number;
      retryAfterSeconds?: number;
      refusal?: boolean;
    } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HubError';
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.status = options.status ?? 500;
    this.refusal = options.refusal ?? false;
    if (options.retryAfterSeconds !== undefined) this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

export function isRetryable(error: unknown): boolean {
  return error instanceof HubError ? error.retryable : true;
}
