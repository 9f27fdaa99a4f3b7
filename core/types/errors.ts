/** Coded error: a stable string code, a cause, and whether retrying can help. */
export class HubError extends Error {
  readonly code: string;
  readonly retryable: boolean;
  readonly status: number;

  constructor(
    code: string,
    message: string,
    options: { cause?: unknown; retryable?: boolean; status?: number } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HubError';
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.status = options.status ?? 500;
  }
}

export function isRetryable(error: unknown): boolean {
  return error instanceof HubError ? error.retryable : true;
}
