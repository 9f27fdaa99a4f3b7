import type { BreakerConfig, TicketingConfig } from '../config/adapters-schema';
import { logger } from '../log';
import { backoffDelay } from '../resilience/backoff';
import { CircuitBreaker, type Permit } from '../resilience/breaker';
import { AdapterError, type TicketingAdapter } from '../types';
import { HubError } from '../types/errors';
import type { ClaimedComment, TicketCommentOutbox } from './comment-outbox';
import type { FailureOutcome } from './lease';
import type { ClaimedDelivery, TicketOutbox } from './outbox';

/** Test-only crash points: the delivery worker SIGKILLs its own process there (see crashHookFromEnv). */
export type CrashPoint =
  | 'ticket-after-enqueue'
  | 'ticket-after-claim'
  | 'ticket-after-create'
  | 'comment-after-enqueue'
  | 'comment-after-claim'
  | 'comment-after-add';

export interface DeliveryWorkerOptions {
  outbox: TicketOutbox;
  /** Customer comments for delivered tickets, sent after the tickets of each pass. */
  comments?: TicketCommentOutbox;
  /** By adapter name; a request names the adapter it was made for. */
  adapters: Record<string, TicketingAdapter>;
  config: Pick<TicketingConfig, 'outbox' | 'timeoutMs'> & { breaker: BreakerConfig };
  batchSize?: number;
  crashHook?: (point: CrashPoint) => void;
  onDelivered?: (delivery: ClaimedDelivery, externalId: string) => void;
  onCommentDelivered?: (comment: ClaimedComment) => void;
  random?: () => number;
  /** Due items woken when a helpdesk answers again are spread over this much time (default 1 s). */
  wakeSpreadMs?: number;
}

/**
 * Moves ticket requests from the outbox to their helpdesk. At-least-once towards the adapter;
 * exactly-once in the helpdesk because every call carries the request id as idempotency key.
 * Retryable failures back off exponentially (or as long as Retry-After says); others, and a
 * request out of attempts, go to the dead-letter list. One circuit breaker per adapter.
 */
export class TicketDeliveryWorker {
  private readonly breakers = new Map<string, CircuitBreaker>();
  private timer?: NodeJS.Timeout;
  private running?: Promise<number>;
  private again = false;
  private stopped = false;
  private readonly random: () => number;

  constructor(private readonly options: DeliveryWorkerOptions) {
    this.random = options.random ?? Math.random;
  }

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  /** Deliver now (e.g. right after enqueue) instead of at the next poll. */
  kick(): void {
    if (this.stopped) return;
    if (this.running) this.again = true;
    else this.schedule(0);
  }

  breaker(adapter: string): CircuitBreaker {
    let breaker = this.breakers.get(adapter);
    if (!breaker) {
      breaker = new CircuitBreaker({
        ...this.options.config.breaker,
        random: this.random,
        name: `ticketing:${adapter}`,
        onChange: (phase) => logger.warn({ adapter, phase }, 'ticketing circuit changed'),
      });
      this.breakers.set(adapter, breaker);
    }
    return breaker;
  }

  /** One pass over due deliveries, tickets then comments; returns how many were delivered. */
  async runOnce(): Promise<number> {
    const { outbox, config } = this.options;
    const batchSize = this.options.batchSize ?? 10;
    const claimed = await outbox.claim(batchSize, config.outbox.leaseMs);
    // A full batch says more are due: the next pass starts at once instead of after the poll.
    if (claimed.length === batchSize) this.again = true;
    let delivered = 0;
    for (const delivery of claimed) {
      if (await this.deliver(delivery)) delivered += 1;
    }
    const comments = await this.options.comments?.claim(batchSize, config.outbox.leaseMs);
    let commented = 0;
    for (const comment of comments ?? []) {
      if (await this.deliverComment(comment)) commented += 1;
    }
    // A pass takes one comment per ticket: the next of the same ticket is due at once.
    if (commented > 0) this.again = true;
    return delivered + commented;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running?.catch(() => {});
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.loop(), delayMs);
    this.timer.unref?.();
  }

  private async loop(): Promise<void> {
    if (this.stopped || this.running) return;
    this.running = this.runOnce();
    try {
      await this.running;
    } catch (error) {
      logger.warn({ err: error }, 'ticket outbox pass failed');
    } finally {
      this.running = undefined;
    }
    if (this.stopped) return;
    const again = this.again;
    this.again = false;
    this.schedule(again ? 0 : this.options.config.outbox.pollMs);
  }

  private async deliver(delivery: ClaimedDelivery): Promise<boolean> {
    const { request } = delivery;
    this.options.crashHook?.('ticket-after-claim');
    return this.attempt({
      item: delivery,
      attempt: delivery.attempt,
      adapter: request.adapter,
      queue: this.options.outbox,
      log: { ticket: request.id, adapter: request.adapter },
      what: 'ticket delivery',
      call: (adapter, timeoutMs) =>
        adapter.createTicket(request.draft, this.context(request.tenant, request.id, timeoutMs)),
      done: async (ref) => {
        this.options.crashHook?.('ticket-after-create');
        await this.options.outbox.markDelivered(delivery, ref);
        this.options.onDelivered?.(delivery, ref.externalId);
        logger.info(
          { ticket: request.id, adapter: request.adapter, externalId: ref.externalId },
          'ticket delivered',
        );
      },
    });
  }

  private async deliverComment(claimed: ClaimedComment): Promise<boolean> {
    const comments = this.options.comments as TicketCommentOutbox;
    this.options.crashHook?.('comment-after-claim');
    const log = { ticket: claimed.requestId, event: claimed.eventId, adapter: claimed.adapter };
    return this.attempt({
      item: claimed,
      attempt: claimed.attempt,
      adapter: claimed.adapter,
      queue: comments,
      log,
      what: `${claimed.comment.author} comment`,
      call: async (adapter, timeoutMs) => {
        if (!(claimed.attempt > 1 && (await this.alreadyAdded(adapter, comments, claimed)))) {
          await adapter.addComment(
            claimed.externalId,
            claimed.comment,
            this.context(claimed.tenant, claimed.eventId, timeoutMs),
          );
        }
        // After the note, so the agent reads why; setting a status twice is harmless, so a retry just sets it again.
        if (claimed.setStatus) {
          await adapter.setStatus(
            claimed.externalId,
            claimed.setStatus,
            this.context(claimed.tenant, `${claimed.eventId}:status`, timeoutMs),
          );
        }
      },
      done: async () => {
        this.options.crashHook?.('comment-after-add');
        await comments.markDelivered(claimed);
        this.options.onCommentDelivered?.(claimed);
        logger.info(
          { ...log, ...(claimed.setStatus ? { status: claimed.setStatus } : {}) },
          `${claimed.comment.author} comment delivered`,
        );
      },
    });
  }

  private context(tenant: string, idempotencyKey: string, timeoutMs = this.options.config.timeoutMs) {
    return { tenant, idempotencyKey, signal: AbortSignal.timeout(timeoutMs) };
  }

  /** A half-open trial is cut to the probe timeout: a hung helpdesk holds the loop seconds, not the full timeout. */
  private timeoutFor(breaker: CircuitBreaker, permit: Permit): number {
    return breaker.trialTimeoutMs(permit, this.options.config.timeoutMs);
  }

  private wakeSpreadMs(): number {
    return this.options.wakeSpreadMs ?? 1_000;
  }

  /**
   * The helpdesk answered after failures: what waits for it (backing off, or deferred by the open
   * circuit) falls due within `wakeSpreadMs`, jittered so a long backlog does not arrive at once.
   */
  private async wake(adapter: string): Promise<void> {
    try {
      const woken =
        (await this.options.outbox.wake(adapter, this.wakeSpreadMs())) +
        ((await this.options.comments?.wake(adapter, this.wakeSpreadMs())) ?? 0);
      if (woken > 0) logger.info({ adapter, woken }, 'helpdesk answers again: waiting deliveries woken');
      this.again = true;
    } catch (error) {
      logger.warn({ err: error, adapter }, 'waking waiting deliveries failed; they keep their schedule');
    }
  }

  /**
   * One try of a ticket or comment through its adapter's circuit breaker: an adapter this hub lacks
   * dead-letters the item, an open circuit defers it without spending the attempt, a failure backs
   * off or (not retryable, or out of attempts) dead-letters it. `done` runs after the adapter took it.
   */
  private async attempt<T, R>(job: {
    item: T;
    attempt: number;
    adapter: string;
    queue: {
      markFailed(item: T, error: string, outcome: FailureOutcome): Promise<void>;
      defer(item: T, retryInMs: number): Promise<void>;
    };
    log: Record<string, unknown>;
    what: string;
    call: (adapter: TicketingAdapter, timeoutMs: number) => Promise<R>;
    done: (result: R) => Promise<void>;
  }): Promise<boolean> {
    const { config } = this.options;
    const adapter = this.options.adapters[job.adapter];
    if (!adapter) {
      await job.queue.markFailed(
        job.item,
        `ticketing adapter "${job.adapter}" is not configured in this hub. Fix: configure it, then replay`,
        { dead: true },
      );
      return false;
    }
    const breaker = this.breaker(job.adapter);
    const permit = breaker.tryAcquire();
    if (!permit) {
      // Back when the next trial may run, not after a fixed period: recovery is seen within seconds.
      await job.queue.defer(job.item, breaker.retryInMs() + this.random() * this.wakeSpreadMs());
      return false;
    }
    try {
      const result = await job.call(adapter, this.timeoutFor(breaker, permit));
      if (breaker.recordSuccess()) await this.wake(job.adapter);
      await job.done(result);
      return true;
    } catch (error) {
      const retryable = error instanceof HubError ? error.retryable : true;
      // A refused payload or bad credentials say nothing about the helpdesk's health.
      if (retryable) breaker.recordFailure();
      else breaker.release();
      if (retryable && permit === 'trial') {
        // The helpdesk is still down: the probe spends no attempt of the item it borrowed.
        await job.queue.defer(job.item, breaker.retryInMs() + this.random() * this.wakeSpreadMs());
        logger.warn({ ...job.log, code: (error as HubError).code }, `${job.what}: helpdesk still failing`);
        return false;
      }
      const message = error instanceof Error ? error.message : String(error);
      const dead = !retryable || job.attempt >= config.outbox.maxAttempts;
      const retryInMs = this.backoff(job.attempt, error);
      await job.queue.markFailed(job.item, message, dead ? { dead: true } : { dead: false, retryInMs });
      logger.warn(
        { ...job.log, attempt: job.attempt, dead, code: (error as HubError).code },
        dead ? `${job.what} failed for good: dead-lettered` : `${job.what} failed; will retry`,
      );
      return false;
    }
  }

  /**
   * Whether an earlier attempt's comment reached the ticket after all (it timed out after the
   * helpdesk wrote it): the ticket shows more comments with this text than the outbox delivered.
   * Most helpdesk comment APIs take no idempotency key; the read-back stands in for one. A failed
   * read-back is not proof either way: the comment is sent.
   */
  private async alreadyAdded(
    adapter: TicketingAdapter,
    comments: TicketCommentOutbox,
    claimed: ClaimedComment,
  ): Promise<boolean> {
    try {
      const ticket = await adapter.getTicket(
        claimed.externalId,
        this.context(claimed.tenant, `read:${claimed.eventId}`),
      );
      const shown = (ticket?.comments ?? []).filter(
        (c) => c.public === claimed.comment.public && c.text.trim() === claimed.comment.text.trim(),
      ).length;
      return shown > (await comments.deliveredTwins(claimed));
    } catch {
      return false;
    }
  }

  /** Exponential with ±20 % jitter, capped; a server's Retry-After wins when it asks for longer. */
  backoff(attempt: number, error?: unknown): number {
    const { backoffMs, maxBackoffMs } = this.options.config.outbox;
    const retryAfter = error instanceof AdapterError ? error.retryAfterMs : undefined;
    return backoffDelay(
      { baseMs: backoffMs, maxMs: maxBackoffMs, jitter: { spread: 0.2 }, random: this.random },
      attempt,
      retryAfter,
    );
  }
}

/**
 * `HUB_CRASH_POINT=ticket-after-claim` (or `ticket-after-create`) makes a test hub SIGKILL itself
 * there: the closest thing to pulling the plug. Honoured only when NODE_ENV is "test".
 */
export function crashHookFromEnv(
  env: NodeJS.ProcessEnv = process.env,
): ((point: CrashPoint) => void) | undefined {
  const wanted = env.HUB_CRASH_POINT;
  if (!wanted || env.NODE_ENV !== 'test') return undefined;
  return (point) => {
    if (point === wanted) process.kill(process.pid, 'SIGKILL');
  };
}
