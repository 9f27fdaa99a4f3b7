import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../log';
import { backoffDelay } from '../resilience/backoff';
import { HubError, isRetryable, type OutboundMessage } from '../types';
import { DeliveryError } from './errors';
import { outboundCalls, outboundWait } from './metrics';
import type { DeliveryLedger, PlatformSender, RateLimiter, RateRule } from './types';

export interface SchedulerPolicy {
  /** Tries per platform call, the first included. */
  maxAttempts: number;
  /** First backoff after a failure without Retry-After; doubles, with full jitter. */
  baseDelayMs: number;
  maxDelayMs: number;
  /**
   * Longest a call waits in line (rate slots, Retry-After) before the turn is handed back to the
   * bus, which redelivers it later; the conversation lock is not held for minutes.
   */
  maxWaitMs: number;
  /** How long a posted call's id is remembered: longer than any redelivery of its turn. */
  idempotencyTtlMs: number;
}

export interface DeliveryReport {
  /** Platform calls made now. */
  sent: number;
  /** Calls skipped because an earlier delivery had made them. */
  duplicates: number;
  /** Calls the platform refused for good (bad chat id, revoked token): logged and counted, not retried. */
  failed: number;
  platformMessageIds: string[];
}

/**
 * One outbound path for every push channel: per-platform rate limits (shared through Redis across
 * replicas), the platform's 429 Retry-After honoured, retries with jitter, and an idempotency record
 * per platform call so a redelivered turn never posts twice.
 */
export class OutboundScheduler {
  constructor(
    private readonly deps: {
      limiter: RateLimiter;
      ledger: DeliveryLedger;
      policy: SchedulerPolicy;
      logger: Logger;
    },
  ) {}

  /** The idempotency records, for what outlives one call: a streamed draft's platform message id. */
  get ledger(): DeliveryLedger {
    return this.deps.ledger;
  }

  get policy(): SchedulerPolicy {
    return this.deps.policy;
  }

  /**
   * One best-effort call outside the ledger (a draft's edit, which a later edit supersedes): it
   * takes its rate-limit slots, waiting at most `maxWaitMs`, and honours a 429 by blocking the
   * platform's scope, but is not retried. Throws `outbound.rate_limited` when no slot came in time.
   */
  async tryOnce<Call>(
    message: OutboundMessage,
    sender: PlatformSender<Call>,
    call: Call,
    maxWaitMs: number,
  ): Promise<string | undefined> {
    const rules = sender.rules(message, call);
    await this.takeSlots(
      rules,
      Date.now(),
      maxWaitMs,
      `no ${sender.channel} rate slot within ${maxWaitMs} ms`,
    );
    try {
      return await sender.send(message, call);
    } catch (error) {
      await this.honourRetryAfter(sender.channel, rules, error);
      throw error;
    }
  }

  async deliver<Call>(message: OutboundMessage, sender: PlatformSender<Call>): Promise<DeliveryReport> {
    const report: DeliveryReport = { sent: 0, duplicates: 0, failed: 0, platformMessageIds: [] };
    const { ledger, policy } = this.deps;
    const leaseMs = policy.maxWaitMs + 60_000;
    for (const [index, call] of sender.render(message).entries()) {
      const key = `${sender.channel}:${message.id}:${index}`;
      const claim = await ledger.claim(key, leaseMs);
      if (claim.state === 'sent') {
        report.duplicates++;
        outboundCalls.inc({ channel: sender.channel, outcome: 'duplicate' });
        if (claim.platformMessageId) report.platformMessageIds.push(claim.platformMessageId);
        continue;
      }
      if (claim.state === 'in_flight') {
        throw new HubError('outbound.in_flight', `message ${message.id} is being sent by another worker`, {
          retryable: true,
        });
      }
      try {
        const platformId = await this.callWithRetries(message, sender, call);
        await ledger.markSent(key, claim.token, policy.idempotencyTtlMs, platformId);
        report.sent++;
        if (platformId) report.platformMessageIds.push(platformId);
        outboundCalls.inc({ channel: sender.channel, outcome: 'sent' });
      } catch (error) {
        await ledger.release(key, claim.token);
        if (isRetryable(error)) throw error;
        report.failed++;
        outboundCalls.inc({ channel: sender.channel, outcome: 'failed' });
        this.deps.logger.error(
          { channel: sender.channel, messageId: message.id, code: (error as HubError).code },
          'outbound message refused by the platform; not retried',
        );
        // The rest of this message would arrive out of context.
        break;
      }
    }
    return report;
  }

  private async callWithRetries<Call>(
    message: OutboundMessage,
    sender: PlatformSender<Call>,
    call: Call,
  ): Promise<string | undefined> {
    const { policy } = this.deps;
    const rules = sender.rules(message, call);
    const started = Date.now();
    let attempt = 0;
    for (;;) {
      await this.takeSlots(rules, started, policy.maxWaitMs, `waited too long to send on ${sender.channel}`);
      outboundWait.observe({ channel: sender.channel }, (Date.now() - started) / 1000);
      attempt++;
      try {
        return await sender.send(message, call);
      } catch (error) {
        const retryAfterMs = await this.honourRetryAfter(sender.channel, rules, error);
        if (!isRetryable(error)) throw error;
        if (attempt >= policy.maxAttempts) {
          throw new HubError('outbound.retries_exhausted', `${sender.channel}: ${(error as Error).message}`, {
            cause: error,
            retryable: true,
          });
        }
        outboundCalls.inc({ channel: sender.channel, outcome: 'retried' });
        this.deps.logger.warn(
          { channel: sender.channel, attempt, code: (error as HubError).code, retryAfterMs },
          'outbound call failed; retrying',
        );
        if (retryAfterMs === undefined) {
          await sleep(
            backoffDelay({ baseMs: policy.baseDelayMs, maxMs: policy.maxDelayMs, jitter: 'full' }, attempt),
          );
        }
      }
    }
  }

  /**
   * Take one slot on every rule, waiting in line while the total since `started` stays within
   * `maxWaitMs`; past that, `outbound.rate_limited` (retryable: the bus redelivers the turn later).
   */
  private async takeSlots(
    rules: RateRule[],
    started: number,
    maxWaitMs: number,
    tooLong: string,
  ): Promise<void> {
    for (;;) {
      const wait = await this.deps.limiter.tryAcquire(rules);
      if (wait <= 0) return;
      if (Date.now() - started + wait > maxWaitMs) {
        throw new HubError('outbound.rate_limited', tooLong, { retryable: true });
      }
      // A little jitter so replicas waiting on one key do not all ask again in the same millisecond.
      await sleep(wait + Math.floor(Math.random() * 25));
    }
  }

  /** A platform 429: counted, and its scope (else the call's first rule) blocked for Retry-After. */
  private async honourRetryAfter(
    channel: string,
    rules: RateRule[],
    error: unknown,
  ): Promise<number | undefined> {
    if (!(error instanceof DeliveryError) || error.retryAfterMs === undefined) return undefined;
    outboundCalls.inc({ channel, outcome: 'rate_limited' });
    const scope = error.scope ?? rules[0]?.key;
    if (scope) await this.deps.limiter.block(scope, error.retryAfterMs);
    return error.retryAfterMs;
  }
}
