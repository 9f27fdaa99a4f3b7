import { DelayedError, type Job, Queue, Worker } from 'bullmq';
import { logger } from '../log';
import { busDeadLetters } from '../metrics';
import { connectionErrorListener, errorEventListener } from '../resilience/connection-errors';
import { sleep } from '../resilience/sleep';
import { duplicateClient, hashTag, isCluster, type RedisClient } from '../state/redis-client';
import { RedisLockManager } from '../state/redis-lock';
import type { DeadLetter, EventBus, EventHandler, PublishResult, TenantBacklog } from '../types';
import { conversationKey } from '../types/conversation';
import { HubError } from '../types/errors';
import type { InboundEvent } from '../types/events';
import { BusKeys } from './keys';
import { Lease } from './lease';
import { countTurnFailure, type DeliveryPolicy, deadLetter, judgeFailure, outageDelayMs } from './policy';
import { RedisInbox } from './redis-inbox';
import { tracedHandler } from './trace';

/** Tries to settle a handled event before leaving it to a redelivery. */
const SETTLE_TRIES = 10;

/** A job only says "this conversation has work"; the events themselves wait in the conversation's inbox. */
interface JobData {
  conversation: string;
}

/** Drained to empty, or come back after this delay (lock busy, backoff, lease lost, shutting down). */
type DrainOutcome = { done: true } | { retryInMs: number };

export interface BullmqBusOptions extends DeliveryPolicy {
  /** BullMQ queue name (no ":"). */
  queue: string;
  /** Namespace of every Redis key, e.g. "hub". */
  keyPrefix: string;
  ownsConnection?: boolean;
  /** How often a running drain renews its conversation lease; default a third of lockTtlMs. */
  lockRenewMs?: number;
  /** How often the worker moves jobs whose worker died back to the queue; default 1 s. */
  stalledIntervalMs?: number;
  /** On a Redis Cluster: how many shards the bus's indexes are split into (see BusKeys); default 16. */
  shards?: number;
}

/**
 * BullMQ's key prefix. In a cluster it is a hash tag: BullMQ's scripts touch several keys of a queue,
 * which must share a slot (the queue lives on one master; the inboxes, the bulk of the data, spread).
 */
export function bullPrefix(keyPrefix: string, cluster: boolean): string {
  return cluster ? hashTag(`${keyPrefix}:bull`) : `${keyPrefix}:bull`;
}

/**
 * EventBus on BullMQ. Open-source BullMQ has no per-group ordering, so order comes from Redis: each
 * conversation has an inbox list, and a job for a conversation drains it head first while holding the
 * conversation lock. A job that finds the lock taken comes back later instead of finishing, because the
 * holder may be a dead worker; every event therefore keeps a live job until some lock holder saw it.
 */
export class BullmqBus implements EventBus {
  private readonly queue: Queue<JobData>;
  private readonly inbox: RedisInbox;
  private readonly locks: RedisLockManager;
  private readonly lockRetryMs: number;
  private worker?: Worker<JobData>;
  private workerConnection?: RedisClient;
  private readonly prefix: string;
  private sweeper?: NodeJS.Timeout;
  private handler?: EventHandler;
  private closing = false;
  private closed?: Promise<void>;

  constructor(
    private readonly redis: RedisClient,
    private readonly options: BullmqBusOptions,
  ) {
    const cluster = isCluster(redis);
    const keys = new BusKeys(`${options.keyPrefix}:bus:${options.queue}`, options.shards ?? 16, cluster);
    this.prefix = bullPrefix(options.keyPrefix, cluster);
    this.locks = new RedisLockManager(redis, { keyPrefix: (conversation) => keys.of(conversation) });
    this.inbox = new RedisInbox(redis, keys, (conversation) => this.locks.fenceKey(conversation));
    this.lockRetryMs = Math.min(250, Math.max(25, Math.floor(options.lockTtlMs / 10)));
    this.queue = new Queue<JobData>(options.queue, {
      connection: redis,
      prefix: this.prefix,
      defaultJobOptions: {
        removeOnComplete: true,
        removeOnFail: true,
        // Only infrastructure errors fail a job (handler errors are retried in the inbox); the sweeper covers the rest.
        attempts: 10,
        backoff: { type: 'exponential', delay: 1_000 },
      },
    });
    this.queue.on('error', errorEventListener('bus', 'bus queue error'));
  }

  async publish(event: InboundEvent): Promise<PublishResult> {
    this.assertOpen();
    const conversation = conversationKey(event.ref);
    if (!(await this.inbox.append(conversation, event, this.options.dedupeWindowMs))) {
      return { accepted: false };
    }
    try {
      await this.queue.add('deliver', { conversation }, { jobId: `e_${encodeURIComponent(event.id)}` });
    } catch (error) {
      // The event is safe in its inbox; a consumer's sweep will find the conversation and deliver it.
      logger.warn({ err: error, eventId: event.id }, 'bus job not added; left to the sweeper');
    }
    return { accepted: true };
  }

  async consume(untraced: EventHandler): Promise<void> {
    this.assertOpen();
    if (this.handler)
      throw new HubError('bus.consumer_exists', 'This bus already has a handler; use one bus per consumer.');
    const handler = tracedHandler(untraced, 'bullmq');
    this.handler = handler;
    // BullMQ blocks on its worker connections, which therefore must retry commands forever.
    this.workerConnection = duplicateClient(this.redis, { maxRetriesPerRequest: null });
    this.workerConnection.on('error', connectionErrorListener('redis', 'bus worker'));
    this.worker = new Worker<JobData>(this.options.queue, (job, token) => this.process(job, handler, token), {
      connection: this.workerConnection,
      prefix: this.prefix,
      concurrency: this.options.concurrency,
      // A dead worker's job is stalled and redelivered once its BullMQ lock lapses, like the conversation
      // lock: within lockTtlMs + stalledIntervalMs. The lock is renewed as often as the lease.
      lockDuration: this.options.lockTtlMs,
      lockRenewTime: this.renewMs,
      stalledInterval: this.options.stalledIntervalMs ?? 1_000,
      // Redelivering a job is always safe here (it only drains an inbox), so never fail it for stalling.
      maxStalledCount: 1_000_000,
    });
    this.worker.on('error', errorEventListener('bus', 'bus worker error'));
    await this.worker.waitUntilReady();
    this.sweeper = setInterval(() => void this.sweep(), this.options.lockTtlMs);
    this.sweeper.unref();
  }

  async deadLetters(limit = 100): Promise<DeadLetter[]> {
    return this.inbox.deadLetters(limit);
  }

  async replayDeadLetters(eventIds?: string[]): Promise<number> {
    this.assertOpen();
    const wanted = eventIds ? new Set(eventIds) : undefined;
    const ids = (await this.inbox.deadLetterIds()).filter((id) => !wanted || wanted.has(id));
    // dlq-order is the order the letters failed in; each conversation's go back in one step.
    const { conversations, moved } = await this.inbox.replay(ids, (dead) => conversationKey(dead.event.ref));
    for (const conversation of conversations) {
      // A fresh job id: the conversation's last job may still exist, and BullMQ ignores an add with a known id.
      await this.queue.add(
        'deliver',
        { conversation },
        { jobId: `r_${encodeURIComponent(conversation)}_${Date.now()}` },
      );
    }
    return moved;
  }

  pending(): Promise<number> {
    return this.inbox.pending();
  }

  oldestPendingAgeMs(): Promise<number> {
    return this.inbox.oldestPendingAgeMs();
  }

  tenantBacklog(tenant: string): Promise<TenantBacklog> {
    return this.inbox.tenantBacklog(tenant);
  }

  tenantBacklogs(): Promise<Map<string, TenantBacklog>> {
    return this.inbox.tenantBacklogs();
  }

  isPending(event: Pick<InboundEvent, 'id' | 'ref'>): Promise<boolean> {
    return this.inbox.isPending(event.id, conversationKey(event.ref), event.ref.tenant);
  }

  async ping(): Promise<void> {
    await this.redis.ping();
  }

  close(): Promise<void> {
    this.closing = true;
    this.closed ??= (async () => {
      clearInterval(this.sweeper);
      // Waits for running jobs; their drain loops stop after the current handler and hand the rest back.
      await this.worker?.close();
      await this.queue.close();
      await this.workerConnection?.quit();
      if (this.options.ownsConnection) await this.redis.quit();
    })();
    return this.closed;
  }

  private async process(job: Job<JobData>, handler: EventHandler, token?: string): Promise<void> {
    let outcome: DrainOutcome;
    try {
      outcome = await this.drain(job.data.conversation, handler);
    } catch (error) {
      logger.error({ err: error }, 'bus drain failed; retrying the conversation');
      outcome = { retryInMs: this.lockRetryMs };
    }
    if ('done' in outcome) return;
    await job.moveToDelayed(Date.now() + Math.max(0, outcome.retryInMs), token);
    throw new DelayedError();
  }

  private async drain(conversation: string, handler: EventHandler): Promise<DrainOutcome> {
    const lock = await this.locks.tryAcquire(conversation, this.options.lockTtlMs);
    if (!lock) {
      // Events are appended before their job is added, so an empty inbox means the holder already
      // handled this job's event: finish instead of coming back for nothing.
      if (await this.inbox.isEmpty(conversation)) return { done: true };
      // The holder may be a worker that died: keep this job alive until it gets the lock itself.
      return { retryInMs: this.lockRetryMs };
    }
    const lease = new Lease(lock, this.options.lockTtlMs, this.renewMs);
    try {
      for (;;) {
        if (this.closing) return { retryInMs: 0 };
        if (lease.lost) return { retryInMs: this.lockRetryMs };
        const raw = await this.inbox.head(conversation);
        if (raw === null) return { done: true };
        const event = JSON.parse(raw) as InboundEvent;
        const start = await this.inbox.beginAttempt(conversation, event.id);
        if ('retryAt' in start) return { retryInMs: start.retryAt - Date.now() };
        const stop = await this.deliver(conversation, raw, event, start, lease, handler);
        if (stop) return stop;
      }
    } finally {
      await lease.end();
    }
  }

  /** Runs the handler once; undefined means "go on with the next event". */
  private async deliver(
    conversation: string,
    raw: string,
    event: InboundEvent,
    { attempt, outages }: { attempt: number; outages: number },
    lease: Lease,
    handler: EventHandler,
  ): Promise<DrainOutcome | undefined> {
    const { maxAttempts } = this.options;
    if (attempt > maxAttempts) {
      // Every allowed attempt started and none finished: the event keeps killing its worker.
      const error = 'the worker stopped during every attempt (crash or lost lock)';
      const letter = deadLetter(event, error, maxAttempts, 'bus.worker_stopped');
      countTurnFailure(event, 'dead');
      return this.settle(conversation, raw, event, lease, letter);
    }
    try {
      // Deliveries so far, outages included: a handler must see a redelivery as one.
      const ctx = { attempt: attempt + outages, fencingToken: lease.lock.token, signal: lease.signal };
      await handler(event, ctx);
    } catch (error) {
      const verdict = judgeFailure(this.options, event, error, attempt);
      if (verdict.action === 'dead') return this.settle(conversation, raw, event, lease, verdict.letter);
      let delay: number;
      if (verdict.action === 'outage') {
        // A holder that lost its lease leaves the bookkeeping to the new one.
        const inARow = lease.lost ? outages + 1 : await this.inbox.refundAttempt(conversation, event.id);
        delay = outageDelayMs(this.options, inARow);
        logger.warn(
          { eventId: event.id, outages: inARow, delay, err: error },
          'bus handler hit an outage; waiting',
        );
      } else {
        delay = verdict.delayMs;
        logger.warn({ eventId: event.id, attempt, delay, err: error }, 'bus handler failed; will retry');
      }
      await this.inbox.scheduleRetry(conversation, event.id, Date.now() + delay);
      return { retryInMs: delay };
    }
    return this.settle(conversation, raw, event, lease);
  }

  private async settle(
    conversation: string,
    raw: string,
    event: InboundEvent,
    lease: Lease,
    letter?: DeadLetter,
  ): Promise<DrainOutcome | undefined> {
    if (!(await this.removeHead(conversation, raw, event, lease.lock.token, letter))) {
      // A newer lock holder owns the conversation now and will see this event again.
      return { retryInMs: this.lockRetryMs };
    }
    if (letter) {
      busDeadLetters.inc();
      logger.error(
        { eventId: event.id, attempts: letter.attempts, code: letter.code },
        'bus event dead-lettered',
      );
    }
    return undefined;
  }

  /**
   * Settle the head, trying again through a Redis blip or failover (about 5 s): the handler has run,
   * and giving up would deliver the event once more. Safe to repeat: the script removes the event by
   * value and only while no newer lock holder exists.
   */
  private async removeHead(...args: Parameters<RedisInbox['removeHead']>): Promise<boolean> {
    for (let tries = 1; ; tries++) {
      try {
        return await this.inbox.removeHead(...args);
      } catch (error) {
        if (tries >= SETTLE_TRIES || this.closing) throw error;
        logger.warn({ err: error, tries }, 'bus could not settle an event; trying again');
        await sleep(Math.min(1_000, 100 * tries));
      }
    }
  }

  /** Re-kick conversations with events but no progress for two lock TTLs (a lost job, a publisher that died). */
  private async sweep(): Promise<void> {
    try {
      const stale = await this.inbox.claimStale(Date.now() - 2 * this.options.lockTtlMs, 100);
      for (const conversation of stale) {
        await this.queue.add('deliver', { conversation }, { jobId: `k_${encodeURIComponent(conversation)}` });
      }
    } catch (error) {
      logger.warn({ err: error }, 'bus sweep failed');
    }
  }

  private get renewMs(): number {
    return this.options.lockRenewMs ?? Math.max(10, Math.floor(this.options.lockTtlMs / 3));
  }

  private assertOpen(): void {
    if (this.closing) throw new HubError('bus.closed', 'The bus is closed.');
  }
}
