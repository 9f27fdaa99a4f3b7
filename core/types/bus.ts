import type { InboundEvent } from './events';
import type { OutboundMessage } from './outbound';
import type { DialogState, StateStore } from './state';

export interface DeliveryContext {
  /** 1 on first delivery. */
  attempt: number;
  /**
   * Monotonic token of the conversation lock held for this delivery. Writes guarded by it are
   * refused once a newer holder exists, so a stalled worker cannot overwrite a newer one.
   */
  fencingToken: number;
  signal: AbortSignal;
  /**
   * Present when the consumer was started with `commit` (see ConsumeOptions): the turn's results go
   * through here instead of the state store and the feed, and the bus commits them in the step that
   * settles the event.
   */
  turn?: TurnCommit;
}

/**
 * A turn's dialog state and feed messages, committed by the bus together with the removal of the
 * event from its conversation (on Redis: in the one script that settles it), and only while this
 * delivery still holds the conversation: a holder that was taken over commits nothing, and a
 * handler that throws commits nothing either.
 */
export interface TurnCommit {
  /** The conversation's state as the delivery found it; undefined when it has none yet. */
  readonly state: DialogState | undefined;
  /** The state to save with the settlement (the last one given wins). */
  saveState(state: DialogState): void;
  /** A message for the outbound feed, published with the settlement, in the order given. */
  publish(message: OutboundMessage): void;
}

export interface ConsumeOptions {
  /**
   * The state store and feed the handler would write to: the bus reads each delivery's state for it
   * and commits what the handler gives `ctx.turn` (a Redis bus in the step that settles the event,
   * where the store and the feed live on its Redis; otherwise through these right before it).
   */
  commit?: { states: StateStore; feed: OutboundFeed };
}

export type EventHandler = (event: InboundEvent, ctx: DeliveryContext) => Promise<void>;

export interface PublishResult {
  /** False when the event id was seen within the dedupe window: nothing was enqueued. */
  accepted: boolean;
}

/** A tenant's share of the bus: what admission control and /metrics read. */
export interface TenantBacklog {
  /** Events accepted and not yet handled (waiting, retrying or in flight). */
  pending: number;
  /** How long the oldest of them has waited since it was accepted, in ms; 0 when none waits. */
  oldestAgeMs: number;
}

export interface DeadLetter {
  event: InboundEvent;
  error: string;
  /** The HubError code of the failure, when it had one (e.g. "state.fenced", "bus.worker_stopped"). */
  code?: string;
  attempts: number;
  failedAt: string;
}

/**
 * Durable inbound bus. At-least-once delivery, dedupe by event id, strict order within a
 * conversation, parallel across conversations, retries with backoff, then a dead-letter queue.
 * A handler error that is not retryable dead-letters at once; one that says a dependency is down
 * (core/resilience/outage) holds the conversation back without using up the event's attempts.
 */
export interface EventBus {
  publish(event: InboundEvent): Promise<PublishResult>;
  /** Start consuming. One handler per bus instance. */
  consume(handler: EventHandler, options?: ConsumeOptions): Promise<void>;
  deadLetters(limit?: number): Promise<DeadLetter[]>;
  /**
   * Re-enqueue dead letters (all, or those with the given event ids); returns how many. Each goes
   * back to the head of its conversation, before the newer events waiting there, in the order the
   * conversation's events first failed.
   */
  replayDeadLetters(eventIds?: string[]): Promise<number>;
  /** Events accepted but not yet handled, across all conversations. */
  pending(): Promise<number>;
  /** How long the oldest of those has waited since it was accepted, in ms; 0 when none waits. */
  oldestPendingAgeMs(): Promise<number>;
  /** One tenant's events accepted and not yet handled, and the oldest one's age: O(1), asked per message. */
  tenantBacklog(tenant: string): Promise<TenantBacklog>;
  /** Every tenant with events not yet handled (for /metrics). */
  tenantBacklogs(): Promise<Map<string, TenantBacklog>>;
  /** Whether an accepted event still waits or runs: not yet handled nor dead-lettered. */
  isPending(event: Pick<InboundEvent, 'id' | 'ref'>): Promise<boolean>;
  ping(): Promise<void>;
  /** Stop taking new work, finish in-flight handlers, release connections. */
  close(): Promise<void>;
}

/** Fan-out of produced replies to whichever process holds the customer's connection (lossy; the store is the truth). */
export interface OutboundFeed {
  publish(message: OutboundMessage): Promise<void>;
  subscribe(listener: (message: OutboundMessage) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}
