import type { HubConfig } from '../config/schema';
import type { DeadLetter } from '../types';
import type { InboundEvent } from '../types/events';

/** Delivery rules shared by every bus driver, so both behave the same under one conformance suite. */
export interface DeliveryPolicy {
  /** An event id accepted within this window is refused as a duplicate. */
  dedupeWindowMs: number;
  /** Handler runs per event before it goes to the dead-letter queue. */
  maxAttempts: number;
  /** Delay before the second attempt; doubles for each later one. */
  backoffMs: number;
  /** Handlers running at once per bus instance. */
  concurrency: number;
  /** Lease on a conversation while its events are handled; a crashed holder's lease ends after this. */
  lockTtlMs: number;
}

/** Doubling stops here: a conversation should not wait hours behind one failing event. */
const MAX_BACKOFF_MS = 5 * 60_000;

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
  return Math.min(MAX_BACKOFF_MS, policy.backoffMs * 2 ** (attempt - 1));
}

export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

export function deadLetter(event: InboundEvent, error: string, attempts: number): DeadLetter {
  return { event, error, attempts, failedAt: new Date().toISOString() };
}
