/**
 * How a delay is spread so that many clients failing together do not all come back together:
 * - `none`: exactly the exponential step (tests and callers that want a lower bound);
 * - `full`: anywhere in [0, step);
 * - `equal`: anywhere in [step/2, step), never much shorter than asked;
 * - `{ spread }`: the step times 1 ± spread (0.2 is ±20 %).
 */
export type Jitter = 'none' | 'full' | 'equal' | { spread: number };

export interface BackoffPolicy {
  /** Delay after the first failure; doubles with each further one. */
  baseMs: number;
  /** The exponential step stops growing here. */
  maxMs: number;
  /** A server's Retry-After is cut to this; `maxMs` when unset. */
  maxRetryAfterMs?: number;
  jitter?: Jitter;
  /** Injected for tests that assert exact delays; Math.random otherwise. */
  random?: () => number;
}

/**
 * The wait after `failures` failures in a row (1 = the first failure): exponential from `baseMs`,
 * capped at `maxMs`, with jitter. A server's Retry-After is a floor, never shortened by jitter,
 * and cut to `maxRetryAfterMs` so one hint cannot park a caller for hours.
 */
export function backoffDelay(policy: BackoffPolicy, failures: number, retryAfterMs?: number): number {
  const step = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, failures - 1));
  const delay = jittered(step, policy.jitter ?? 'none', policy.random ?? Math.random);
  if (retryAfterMs === undefined) return delay;
  return Math.min(policy.maxRetryAfterMs ?? policy.maxMs, Math.max(retryAfterMs, delay));
}

function jittered(step: number, jitter: Jitter, random: () => number): number {
  if (jitter === 'none') return step;
  if (jitter === 'full') return Math.floor(random() * step);
  if (jitter === 'equal') return step / 2 + (random() * step) / 2;
  return step * (1 - jitter.spread + 2 * jitter.spread * random());
}
