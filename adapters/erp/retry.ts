import { z } from 'zod';
import { sleep } from '../../core/resilience/sleep';
import { AdapterError, AdapterErrorCodes } from '../../core/types';

const positiveInt = z.coerce.number().int().positive();

/** The `rateLimit` block of an ERP's options: waits up to `maxWaitMs` are sat out, `attempts` tries in all. */
export const rateLimitSchema = z
  .object({ attempts: positiveInt.default(3), maxWaitMs: positiveInt.default(10_000) })
  .prefault({});

export interface RateLimitRetry {
  /** Tries in all, the first included. */
  attempts: number;
  /** A longer wait than this is not sat out: the rate-limit error goes to the caller. */
  maxWaitMs: number;
}

/**
 * Runs `call`, and when the ERP says "too many requests" with a wait (HTTP 429 Retry-After, a
 * GraphQL throttle), waits that long and tries again. Other errors, and waits longer than
 * `maxWaitMs`, go to the caller at once. A caller's deadline passing during the wait is a timeout.
 */
export async function retryRateLimited<T>(
  system: string,
  call: () => Promise<T>,
  options: RateLimitRetry,
  signal?: AbortSignal,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      const waitMs = error instanceof AdapterError ? error.retryAfterMs : undefined;
      const limited = error instanceof AdapterError && error.code === AdapterErrorCodes.rateLimited;
      if (!limited || waitMs === undefined || waitMs > options.maxWaitMs || attempt >= options.attempts)
        throw error;
      await sleep(waitMs, signal, () => deadlinePassed(system));
    }
  }
}

function deadlinePassed(system: string): AdapterError {
  return new AdapterError(
    AdapterErrorCodes.timeout,
    `${system}: the deadline passed while waiting out a rate limit`,
    { retryable: true, status: 504 },
  );
}
