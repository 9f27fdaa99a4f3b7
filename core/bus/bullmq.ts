import { randomUUID } from 'node:crypto';
import { DelayedError, type Job, Queue, Worker } from 'bullmq';
import { logger } from '../log';
import { busDeadLetters } from '../metrics';
import { connectionErrorListener, errorEventListener } from '../resilience/connection-errors';
import { sleep } from '../resilience/sleep';
import type { RedisStateBinding } from '../state/redis';
import { RedisStateStore } from '../state/redis';
import { duplicateClient, hashTag, isCluster, type RedisClient, sameRedis } from '../state/redis-client';
import { FENCE_MEMORY_MS, RedisLockManager } from '../state/redis-lock';
import type {
  ConsumeOptions,
  DeadLetter,
  DeliveryContext,
  DialogState,
  EventBus,
  EventHandler,
  OutboundFeed,
  OutboundMessage,
  PublishResult,
  StateStore,
  TenantBacklog,
} from '../types';
import { conversationKey } from '../types/conversation';
import { HubError } from '../types/errors';
import type { InboundEvent } from '../types/events';
import { RedisFeed } from './feed-redis';
import { BusKeys } from './keys';
import { Lease } from './lease';
import { countTurnFailure, type DeliveryPolicy, deadLetter, judgeFailure, outageDelayMs } from './policy';
import { type AttemptStart, RedisInbox, type StateKeys, type TurnEnd } from './redis-inbox';
import { tracedHandler } from './trace';

/** Tries to settle a handled event before leaving it to a redelivery. */
const SETTLE_TRIES = 10;

/** A job only says "this conversation has work"; the events themselves wait in the conversation's inbox. */
interface JobData {
  conversation: string;
}

/** Drained to empty, or come back after this delay (lock busy, backoff, lease lost, shutting down). */
type DrainOutcome = { done: true } | { retryInMs: number };

/** Where the bus commits turns (ConsumeOptions.commit), and which parts it writes in its own scripts. */
interface CommitTarget {
  states: StateStore;
  feed: OutboundFeed;
  /** The state store's keys, when it lives on the bus's Redis: states are read and saved by the drain's scripts. */
  binding?: RedisStateBinding;
  /** The feed's channel, when it lives on the bus's Redis: messages are published by END_TURN. */
  channel?: string;
}

/** One drain: the lock it holds and the conversation's state as its turns leave it. */
interface Drain {
  conversation: string;
  owner: string;
  lease: Lease;
  /** Where START_DRAIN read the state and END_TURN saves it; undefined when the store is not the bus's. */
  stateKeys?: StateKeys;
  state?: DialogState;
  /** The state was read from its copy from before sealing, which the next save drops. */
  clearRead: boolean;
  /** END_TURN let the lock go (or handed it back): nothing left to release. */
  released: boolean;
}

/** What a handler hands ctx.turn, kept until the bus commits it. */
class TurnBuffer {
  saved?: DialogState;
  readonly messages: OutboundMessage[] = [];
  readonly view: NonNullable<DeliveryContext['turn']>;

  constructor(state: DialogState | undefined) {
    this.view = {
      state,
      saveState: (next) => {
        this.saved = next;
      },
      publish: (message) => {
        this.messages.push(message);
      },
    };
  }
}

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
  private readonly keys: BusKeys;
  private readonly inbox: RedisInbox;
  private readonly locks: RedisLockManager;
  private readonly lockRetryMs: number;
  private worker?: Worker<JobData>;
  private workerConnection?: RedisClient;
  private readonly prefix: string;
  private sweeper?: NodeJS.Timeout;
  private handler?: EventHandler;
  private commit?: CommitTarget;
  private closing = false;
  private closed?: Promise<void>;

  constructor(
    private readonly redis: RedisClient,
    private readonly options: BullmqBusOptions,
  ) {
    const cluster = isCluster(redis);
    const keys = new BusKeys(`${options.keyPrefix}:bus:${options.queue}`, options.shards ?? 16, cluster);
    this.keys = keys;
    this.prefix = bullPrefix(options.keyPrefix, cluster);
    this.locks = new RedisLockManager(redis, { keyPrefix: (conversation) => keys.of(conversation) });
    this.inbox = new RedisInbox(redis, keys);
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
    const appended = await this.inbox.append(conversation, event, this.options.dedupeWindowMs);
    if (appended === 'duplicate') return { accepted: false };
    // Behind other events: the drain that holds or will take the conversation goes on until its inbox
    // is empty (END_TURN), so this event needs no job of its own.
    if (appended === 'queued') return { accepted: true };
    try {
      // One job per time the conversation becomes ready, named by the event that made it so (an id
      // the dedupe window keeps unique; BullMQ would ignore an add with the id of a job it still has).
      await this.queue.add('deliver', { conversation }, { jobId: `e_${encodeURIComponent(event.id)}` });
    } catch (error) {
      // The event is safe in its inbox; a consumer's sweep will find the conversation and deliver it.
      logger.warn({ err: error, eventId: event.id }, 'bus job not added; left to the sweeper');
    }
    return { accepted: true };
  }

  async consume(untraced: EventHandler, options: ConsumeOptions = {}): Promise<void> {
    this.assertOpen();
    if (this.handler)
      throw new HubError('bus.consumer_exists', 'This bus already has a handler; use one bus per consumer.');
    const handler = tracedHandler(untraced, 'bullmq');
    this.handler = handler;
    this.commit = options.commit && this.commitTarget(options.commit);
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

  async pending(): Promise<number> {
    return (await this.inbox.backlog()).pending;
  }

  async oldestPendingAgeMs(): Promise<number> {
    return (await this.inbox.backlog()).oldestAgeMs;
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

  /** The parts of `commit` on this bus's Redis, which the drain's scripts then write themselves. */
  private commitTarget({ states, feed }: NonNullable<ConsumeOptions['commit']>): CommitTarget {
    const stateBinding = states instanceof RedisStateStore ? states.binding() : undefined;
    const binding = stateBinding && sameRedis(stateBinding.redis, this.redis) ? stateBinding : undefined;
    const feedBinding = feed instanceof RedisFeed ? feed.binding() : undefined;
    const channel = feedBinding && sameRedis(feedBinding.redis, this.redis) ? feedBinding.channel : undefined;
    return { states, feed, binding, ...(channel === undefined ? {} : { channel }) };
  }

  /** The state's keys for the drain's scripts, when they sit in the conversation's slot (always on one server). */
  private stateKeysOf(conversation: string): StateKeys | undefined {
    const binding = this.commit?.binding;
    if (!binding) return undefined;
    const state = binding.stateKey(conversation);
    if (isCluster(this.redis) && !state.startsWith(`${this.keys.of(conversation)}:`)) return undefined;
    const clear = binding.clearKey(conversation);
    return clear === undefined ? { state } : { state, clear };
  }

  private async drain(conversation: string, handler: EventHandler): Promise<DrainOutcome> {
    const owner = randomUUID();
    const stateKeys = this.stateKeysOf(conversation);
    const start = await this.inbox.startDrain(
      conversation,
      {
        key: this.locks.lockKey(conversation),
        fence: this.locks.fenceKey(conversation),
        owner,
        ttlMs: this.options.lockTtlMs,
        fenceMemoryMs: FENCE_MEMORY_MS,
      },
      stateKeys,
    );
    // Events are appended before their job is added, so an empty inbox means a drain already handled
    // this job's events: finish instead of coming back for nothing.
    if ('busy' in start) return start.empty ? { done: true } : { retryInMs: this.lockRetryMs };
    if ('empty' in start) return { done: true };
    if ('retryAt' in start) return { retryInMs: start.retryAt - Date.now() };
    const lease = new Lease(
      this.locks.held(conversation, owner, start.token),
      this.options.lockTtlMs,
      this.renewMs,
    );
    const drain: Drain = { conversation, owner, lease, clearRead: false, released: false };
    try {
      if (this.commit) await this.readState(drain, stateKeys, start.state);
      let next: AttemptStart | undefined = start;
      while (next) {
        const event = JSON.parse(next.raw) as InboundEvent;
        const outcome = await this.deliver(drain, next, event, handler);
        if ('next' in outcome) next = outcome.next;
        else return outcome;
      }
      return { done: true };
    } finally {
      await lease.end({ release: !drain.released });
    }
  }

  /** The drain's first state: what START_DRAIN read, else (once, in a cluster) where it was kept before, else the store. */
  private async readState(
    drain: Drain,
    stateKeys: StateKeys | undefined,
    read: { value: string; clear: boolean } | undefined,
  ): Promise<void> {
    const target = this.commit;
    if (!target) return;
    if (!stateKeys || !target.binding) {
      drain.state = await target.states.load(drain.conversation);
      return;
    }
    drain.stateKeys = stateKeys;
    if (read) {
      drain.state = target.binding.open(drain.conversation, read.value, read.clear);
      drain.clearRead = read.clear;
    } else {
      drain.state = await target.binding.loadMoved(drain.conversation);
    }
  }

  /** Runs the handler once and settles the event: the next event to run, or how the drain ends. */
  private async deliver(
    drain: Drain,
    { raw, attempt, outages }: AttemptStart,
    event: InboundEvent,
    handler: EventHandler,
  ): Promise<DrainOutcome | { next: AttemptStart }> {
    const { maxAttempts } = this.options;
    const { conversation, lease } = drain;
    if (attempt > maxAttempts) {
      // Every allowed attempt started and none finished: the event keeps killing its worker.
      const error = 'the worker stopped during every attempt (crash or lost lock)';
      const letter = deadLetter(event, error, maxAttempts, 'bus.worker_stopped');
      countTurnFailure(event, 'dead');
      return this.settle(drain, raw, event, letter);
    }
    const turn = this.commit ? new TurnBuffer(drain.state) : undefined;
    try {
      // Deliveries so far, outages included: a handler must see a redelivery as one.
      const ctx: DeliveryContext = {
        attempt: attempt + outages,
        fencingToken: lease.lock.token,
        signal: lease.signal,
        ...(turn ? { turn: turn.view } : {}),
      };
      await handler(event, ctx);
      // A state store off the bus's Redis is written before the event goes, as the handler would.
      if (turn?.saved && !drain.stateKeys) {
        await this.commit?.states.save(turn.saved, { fencingToken: lease.lock.token });
      }
    } catch (error) {
      const verdict = judgeFailure(this.options, event, error, attempt);
      if (verdict.action === 'dead') return this.settle(drain, raw, event, verdict.letter);
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
    return this.settle(drain, raw, event, undefined, turn);
  }

  /**
   * END_TURN: the head settled with the turn's state and feed messages, then the next head or the
   * lock let go. Nothing is committed when a newer lock holder exists.
   */
  private async settle(
    drain: Drain,
    raw: string,
    event: InboundEvent,
    letter?: DeadLetter,
    turn?: TurnBuffer,
  ): Promise<DrainOutcome | { next: AttemptStart }> {
    const { conversation, lease } = drain;
    const binding = this.commit?.binding;
    const channel = this.commit?.channel;
    const saved = turn?.saved && drain.stateKeys ? turn.saved : undefined;
    const goOn = !this.closing && !lease.lost;
    const end: TurnEnd = {
      token: lease.lock.token,
      raw,
      event,
      owner: drain.owner,
      lockTtlMs: this.options.lockTtlMs,
      goOn,
      ...(letter ? { deadLetter: letter } : {}),
      ...(saved && binding && drain.stateKeys
        ? {
            state: {
              keys: drain.stateKeys,
              value: binding.seal(saved),
              ttlMs: binding.ttlMs,
              dropClear: drain.clearRead,
            },
          }
        : {}),
      ...(turn && turn.messages.length > 0 && channel !== undefined
        ? { feed: { channel, messages: turn.messages.map((message) => JSON.stringify(message)) } }
        : {}),
    };
    const result = await lease.settle(
      () => this.endTurn(conversation, end),
      (settled) => settled.settled && !('next' in settled),
    );
    // A newer lock holder owns the conversation now and will see this event again.
    if (!result.settled) return { retryInMs: this.lockRetryMs };
    drain.released = !('next' in result);
    if (turn?.saved) {
      // A copy, as a store would give back: the handler cannot change what the next turn starts from.
      drain.state = JSON.parse(JSON.stringify(turn.saved)) as DialogState;
      if (saved) drain.clearRead = false;
    }
    if (turn && channel === undefined) await this.publishAfter(turn.messages);
    if (letter) {
      busDeadLetters.inc();
      logger.error(
        { eventId: event.id, attempts: letter.attempts, code: letter.code },
        'bus event dead-lettered',
      );
    }
    if ('next' in result) return { next: result.next };
    if ('retryAt' in result) return { retryInMs: result.retryAt - Date.now() };
    // Released: the inbox was empty, or the drain was told to stop with events left for a later job.
    return goOn ? { done: true } : { retryInMs: this.closing ? 0 : this.lockRetryMs };
  }

  /** A feed off the bus's Redis gets the turn's messages once the event is settled (the feed is lossy anyway). */
  private async publishAfter(messages: OutboundMessage[]): Promise<void> {
    for (const message of messages) {
      try {
        await this.commit?.feed.publish(message);
      } catch (error) {
        logger.warn({ err: error, messageId: message.id }, 'outbound feed publish failed');
      }
    }
  }

  /**
   * END_TURN, trying again through a Redis blip or failover (about 5 s): the handler has run, and
   * giving up would deliver the event once more. Safe to repeat: the script removes the event by
   * value and only while no newer lock holder exists.
   */
  private async endTurn(conversation: string, end: TurnEnd): ReturnType<RedisInbox['endTurn']> {
    for (let tries = 1; ; tries++) {
      try {
        return await this.inbox.endTurn(
          conversation,
          this.locks.lockKey(conversation),
          this.locks.fenceKey(conversation),
          end,
        );
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
