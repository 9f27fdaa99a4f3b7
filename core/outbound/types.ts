import type { OutboundMessage } from '../types';

/** At most `limit` sends per `windowMs` on `key`; keys are shared by every replica through Redis. */
export interface RateRule {
  key: string;
  limit: number;
  windowMs: number;
}

/** Decides when a send may go out. Shared across replicas when Redis-backed. */
export interface RateLimiter {
  /** Take one slot on every rule at once, or take none and say how long to wait (ms) before asking again. */
  tryAcquire(rules: RateRule[]): Promise<number>;
  /** The platform said "slow down" (429): nothing goes out on `key` for `ms`. */
  block(key: string, ms: number): Promise<void>;
  close(): Promise<void>;
}

export type ClaimResult =
  | { state: 'claimed'; token: string }
  | { state: 'sent'; platformMessageId?: string }
  | { state: 'in_flight' };

/**
 * Idempotency record per outbound platform call: a redelivered turn, another replica, or a retry
 * after a crash finds `sent` and does not post again.
 */
export interface DeliveryLedger {
  claim(key: string, leaseMs: number): Promise<ClaimResult>;
  markSent(key: string, token: string, ttlMs: number, platformMessageId?: string): Promise<void>;
  /** Give the claim up (the call failed), so a later attempt may try again. */
  release(key: string, token: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * A connector's send side, free of HTTP: it renders a message into platform calls and makes them.
 * Built from the channel config alone, so a worker-only process can deliver.
 */
export interface PlatformSender<Call = unknown> {
  /** Channel id from config. */
  readonly channel: string;
  /** The platform calls that post this message, in order (long texts split, rich content degraded). */
  render(message: OutboundMessage): Call[];
  /** The rate-limit buckets one call counts against. */
  rules(message: OutboundMessage, call: Call): RateRule[];
  /** Make the call; returns the platform's message id. Throws DeliveryError on failure. */
  send(message: OutboundMessage, call: Call): Promise<string | undefined>;
}
