import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../log';
import { HubError, isRetryable, type OutboundMessage } from '../types';
import { DeliveryError } from './errors';
import { outboundCalls, outboundWait } from './metrics';
import type { DeliveryLedger, PlatformSender, RateLimiter } from './types';

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
    const { limiter } = this.deps;
    const rules = sender.rules(message, call);
    const started = Date.now();
    for (;;) {
      const wait = await limiter.tryAcquire(rules);
      if (wait <= 0) break;
      if (Date.now() - started + wait > maxWaitMs) {
        throw new HubError('outbound.rate_limited', `no ${sender.channel} rate slot within ${maxWaitMs} ms`, {
          retryable: true,
        });
      }
      await sleep(wait + Math.floor(Math.random() * 25));
    }
    try {
      return await sender.send(message, call);
    } catch (error) {
      if (error instanceof DeliveryError && error.retryAfterMs !== undefined) {
        outboundCalls.inc({ channel: sender.channel, outcome: 'rate_limited' });
        const scope = error.scope ?? rules[0]?.key;
        if (scope) await limiter.block(scope, error.retryAfterMs);
      }
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
    const { limiter, policy } = this.deps;
    const rules = sender.rules(message, call);
    const started = Date.now();
    let attempt = 0;
    for (;;) {
      const wait = await limiter.tryAcquire(rules);
      if (wait > 0) {
        if (Date.now() - started + wait > policy.maxWaitMs) {
          throw new HubError('outbound.rate_limited', `waited too long to send on ${sender.channel}`, {
            retryable: true,
          });
        }
        // A little jitter so replicas waiting on one key do not all ask again in the same millisecond.
        await sleep(wait + Math.floor(Math.random() * 25));
        continue;
      }
      outboundWait.observe({ channel: sender.channel }, (Date.now() - started) / 1000);
      attempt++;
      try {
        return await sender.send(message, call);
      } catch (error) {
        const retryAfterMs = error instanceof DeliveryError ? error.retryAfterMs : undefined;
        if (retryAfterMs !== undefined) {
          outboundCalls.inc({ channel: sender.channel, outcome: 'rate_limited' });
          const scope = (error as DeliveryError).scope ?? rules[0]?.key;
          if (scope) await limiter.block(scope, retryAfterMs);
        }
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
          const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
          await sleep(Math.floor(Math.random() * ceiling));
        }
      }
    }
  }
}
