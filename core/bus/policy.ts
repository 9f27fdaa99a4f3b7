import type { HubConfig } from '../config/schema';
import { turnFailures } from '../metrics';
import { backoffDelay } from '../resilience/backoff';
import { isOutage } from '../resilience/outage';
import type { DeadLetter } from '../types';
import { HubError, isRetryable } from '../types/errors';
import type { InboundEvent } from '../types/events';

/** Delivery rules shared by every bus driver, so both behave the same under one conformance suite. */
export interface DeliveryPolicy {
  /** An event id accepted within this window is refused as a duplicate. */
  dedupeWindowMs: number;
  /** Handler runs per event before it goes to the dead-letter queue (outages not counted). */
  maxAttempts: number;
  /** Delay before the second attempt; doubles for each later one. */
  backoffMs: number;
  /** Handlers running at once per bus instance. */
  concurrency: number;
  /** Lease on a conversation while its events are handled; a crashed holder's lease ends after this. */
  lockTtlMs: number;
  /**
   * Longest wait between tries while a dependency is down: a conversation held up by an outage
   * resumes at most this long after the dependency is back. Default 10 s.
   */
  outageBackoffMaxMs?: number;
}

/** Doubling stops here: a conversation should not wait hours behind one failing event. */
const MAX_BACKOFF_MS = 5 * 60_000;
const OUTAGE_BACKOFF_MAX_MS = 10_000;

export function policyFromConfig(bus: HubConfig['bus']): DeliveryPolicy {
  return {
    dedupeWindowMs: Math.max(1, Math.round(bus.dedupeWindowHours * 3_600_000)),
    maxAttempts: bus.maxAttempts,
    backoffMs: bus.backoffMs,
    concurrency: bus.concurrency,
    lockTtlMs: bus.lockTtlMs,
  };
}

/** Wait after `attempt` failed, before the next one. */
export function retryDelayMs(policy: DeliveryPolicy, attempt: number): number {
  return backoffDelay({ baseMs: policy.backoffMs, maxMs: MAX_BACKOFF_MS }, attempt);
}

/**
 * Wait after the `outages`-th failure in a row caused by a dependency being down. Jittered, so the
 * conversations held up by one outage do not all knock at once when it ends.
 */
export function outageDelayMs(policy: DeliveryPolicy, outages: number): number {
  const maxMs = policy.outageBackoffMaxMs ?? OUTAGE_BACKOFF_MAX_MS;
  return backoffDelay({ baseMs: Math.min(policy.backoffMs, maxMs), maxMs, jitter: 'equal' }, outages);
}

/**
 * What a bus does with an event whose handler threw, the same in every driver:
 * - `outage`: a dependency is down (see isOutage). The attempt is given back and the conversation
 *   waits, however long the outage lasts: an outage is not a poison message.
 * - `dead`: the error says retrying cannot help (HubError `retryable: false`), or the attempts are
 *   used up. The dead letter records the error's code.
 * - `retry`: try again after the usual backoff.
 */
export type FailureVerdict =
  | { action: 'outage' }
  | { action: 'dead'; letter: DeadLetter }
  | { action: 'retry'; delayMs: number };

export function judgeFailure(
  policy: DeliveryPolicy,
  event: InboundEvent,
  error: unknown,
  attempt: number,
): FailureVerdict {
  const verdict = judge(policy, event, error, attempt);
  countTurnFailure(event, verdict.action);
  return verdict;
}

function judge(policy: DeliveryPolicy, event: InboundEvent, error: unknown, attempt: number): FailureVerdict {
  if (isOutage(error)) return { action: 'outage' };
  if (!isRetryable(error) || attempt >= policy.maxAttempts) {
    return { action: 'dead', letter: deadLetter(event, error, attempt) };
  }
  return { action: 'retry', delayMs: retryDelayMs(policy, attempt) };
}

/** One failed attempt of the event's turn on `hub_turn_failures_total`, under its tenant and channel. */
export function countTurnFailure(event: InboundEvent, verdict: FailureVerdict['action']): void {
  turnFailures.inc({ tenant: event.ref.tenant, channel: event.ref.channel, verdict });
}

export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

/** A dead letter for `error`; a HubError's code is kept, so the queue can be read by cause. */
export function deadLetter(event: InboundEvent, error: unknown, attempts: number, code?: string): DeadLetter {
  const errorCode = code ?? (error instanceof HubError ? error.code : undefined);
  return {
    event,
    error: describeError(error),
    ...(errorCode ? { code: errorCode } : {}),
    attempts,
    failedAt: new Date().toISOString(),
  };
}
