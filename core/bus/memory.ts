import { logger } from '../log';
import { busDeadLetters } from '../metrics';
import { MonotonicTokens } from '../state/tokens';
import type {
  ConsumeOptions,
  DeadLetter,
  DeliveryContext,
  DialogState,
  EventBus,
  EventHandler,
  OutboundMessage,
  PublishResult,
  TenantBacklog,
} from '../types';
import { conversationKey } from '../types/conversation';
import { HubError } from '../types/errors';
import type { InboundEvent } from '../types/events';
import { type DeliveryPolicy, judgeFailure, outageDelayMs } from './policy';
import { tracedHandler } from './trace';

interface Conversation {
  key: string;
  /** Head first; the head stays here until it is handled or dead-lettered. */
  events: InboundEvent[];
  running: boolean;
  queued: boolean;
  retryTimer?: NodeJS.Timeout;
}

/**
 * The embedded bus: one process, nothing durable, but the same contract as the BullMQ bus (dedupe,
 * order per conversation, bounded concurrency, retries with backoff, dead letters).
 */
export class MemoryBus implements EventBus {
  /** Event id -> end of its dedupe window; insertion order is expiry order (one window length). */
  private readonly seen = new Map<string, number>();
  private readonly conversations = new Map<string, Conversation>();
  /** Conversations with an event ready to run, in the order they became ready (fair across conversations). */
  private readonly ready: Conversation[] = [];
  /** Attempts per event that count against maxAttempts. */
  private readonly attempts = new Map<string, number>();
  /** Failures in a row per event because a dependency was down: they set the wait, not the limit. */
  private readonly outages = new Map<string, number>();
  private readonly dead = new Map<string, DeadLetter>();
  /** Event id -> when it was (re-)accepted; insertion order is acceptance order. */
  private readonly acceptedAt = new Map<string, number>();
  /** The same per tenant: its size is the tenant's backlog, its first entry the oldest. */
  private readonly tenantAcceptedAt = new Map<string, Map<string, number>>();
  private readonly running = new Set<Promise<void>>();
  private readonly tokens = new MonotonicTokens();
  private handler?: EventHandler;
  private commit?: ConsumeOptions['commit'];
  private pendingCount = 0;
  private closed = false;

  constructor(private readonly policy: DeliveryPolicy) {}

  async publish(event: InboundEvent): Promise<PublishResult> {
    this.assertOpen();
    this.forgetExpiredIds();
    if (this.seen.has(event.id)) {
      return { accepted: false };
    }
    // A JSON copy, as Redis would hold: the publisher cannot change what the handler sees.
    const copy = JSON.parse(JSON.stringify(event)) as InboundEvent;
    this.seen.set(event.id, Date.now() + this.policy.dedupeWindowMs);
    this.enqueue(copy);
    this.pump();
    return { accepted: true };
  }

  async consume(untraced: EventHandler, options: ConsumeOptions = {}): Promise<void> {
    this.assertOpen();
    if (this.handler)
      throw new HubError('bus.consumer_exists', 'This bus already has a handler; use one bus per consumer.');
    const handler = tracedHandler(untraced, 'memory');
    this.commit = options.commit;
    this.handler = handler;
    this.pump();
  }

  async deadLetters(limit = 100): Promise<DeadLetter[]> {
    return [...this.dead.values()].slice(0, limit);
  }

  async replayDeadLetters(eventIds?: string[]): Promise<number> {
    const wanted = eventIds ? new Set(eventIds) : undefined;
    // Newest first, each to the head: a conversation's letters end up in the order they failed.
    const letters = [...this.dead.values()]
      .filter((letter) => !wanted || wanted.has(letter.event.id))
      .reverse();
    for (const letter of letters) {
      this.dead.delete(letter.event.id);
      this.enqueue(letter.event, 'head');
    }
    this.pump();
    return letters.length;
  }

  async pending(): Promise<number> {
    return this.pendingCount;
  }

  async oldestPendingAgeMs(): Promise<number> {
    const [oldest] = this.acceptedAt.values();
    return oldest === undefined ? 0 : Math.max(0, Date.now() - oldest);
  }

  async tenantBacklog(tenant: string): Promise<TenantBacklog> {
    const accepted = this.tenantAcceptedAt.get(tenant);
    const [oldest] = accepted?.values() ?? [];
    return {
      pending: accepted?.size ?? 0,
      oldestAgeMs: oldest === undefined ? 0 : Math.max(0, Date.now() - oldest),
    };
  }

  async tenantBacklogs(): Promise<Map<string, TenantBacklog>> {
    const backlogs = new Map<string, TenantBacklog>();
    for (const tenant of this.tenantAcceptedAt.keys()) backlogs.set(tenant, await this.tenantBacklog(tenant));
    return backlogs;
  }

  async isPending(event: Pick<InboundEvent, 'id' | 'ref'>): Promise<boolean> {
    return this.tenantAcceptedAt.get(event.ref.tenant)?.has(event.id) ?? false;
  }

  async ping(): Promise<void> {
    this.assertOpen();
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const conversation of this.conversations.values()) clearTimeout(conversation.retryTimer);
    await Promise.allSettled([...this.running]);
  }

  /** At the tail (a new event) or the head (a replayed one; after the head a handler is running on). */
  private enqueue(event: InboundEvent, at: 'tail' | 'head' = 'tail'): void {
    const key = conversationKey(event.ref);
    let conversation = this.conversations.get(key);
    if (!conversation) {
      conversation = { key, events: [], running: false, queued: false };
      this.conversations.set(key, conversation);
    }
    if (at === 'tail') conversation.events.push(event);
    else conversation.events.splice(conversation.running ? 1 : 0, 0, event);
    this.acceptedAt.delete(event.id);
    this.acceptedAt.set(event.id, Date.now());
    const tenant = this.tenantAcceptedAt.get(event.ref.tenant) ?? new Map<string, number>();
    this.tenantAcceptedAt.set(event.ref.tenant, tenant);
    tenant.delete(event.id);
    tenant.set(event.id, Date.now());
    this.pendingCount++;
    this.markReady(conversation);
  }

  /** A conversation runs one event at a time: it is ready only when idle, not backing off, and not empty. */
  private markReady(conversation: Conversation): void {
    if (conversation.running || conversation.queued || conversation.retryTimer) return;
    if (conversation.events.length === 0) {
      this.conversations.delete(conversation.key);
      return;
    }
    conversation.queued = true;
    this.ready.push(conversation);
  }

  private pump(): void {
    const handler = this.handler;
    while (handler && !this.closed && this.running.size < this.policy.concurrency) {
      const conversation = this.ready.shift();
      if (!conversation) return;
      conversation.queued = false;
      conversation.running = true;
      const run = this.deliverHead(conversation, handler).finally(() => {
        this.running.delete(run);
        conversation.running = false;
        this.markReady(conversation);
        this.pump();
      });
      this.running.add(run);
    }
  }

  private async deliverHead(conversation: Conversation, handler: EventHandler): Promise<void> {
    const event = conversation.events[0];
    if (!event) return;
    const attempt = (this.attempts.get(event.id) ?? 0) + 1;
    const outages = this.outages.get(event.id) ?? 0;
    this.attempts.set(event.id, attempt);
    const ctx: DeliveryContext = {
      // Deliveries so far, outages included: a handler must see a redelivery as one.
      attempt: attempt + outages,
      fencingToken: this.tokens.next(conversation.key),
      signal: new AbortController().signal,
    };
    try {
      const commit = this.commit && (await this.turnCommit(conversation.key, this.commit));
      ctx.turn = commit?.turn;
      await handler(event, ctx);
      // What the handler gave ctx.turn, before the head goes: a failure here is the handler's.
      await commit?.apply(ctx.fencingToken);
    } catch (error) {
      const verdict = judgeFailure(this.policy, event, error, attempt);
      if (verdict.action === 'outage') {
        this.attempts.set(event.id, attempt - 1);
        this.outages.set(event.id, outages + 1);
        const delay = outageDelayMs(this.policy, outages + 1);
        logger.warn(
          { eventId: event.id, outages: outages + 1, delay, err: error },
          'bus handler hit an outage; waiting',
        );
        this.backOff(conversation, delay);
        return;
      }
      if (verdict.action === 'retry') {
        logger.warn(
          { eventId: event.id, attempt, delay: verdict.delayMs, err: error },
          'bus handler failed; will retry',
        );
        this.backOff(conversation, verdict.delayMs);
        return;
      }
      this.dead.set(event.id, verdict.letter);
      busDeadLetters.inc();
      logger.error(
        { eventId: event.id, attempt, code: verdict.letter.code, err: error },
        'bus event dead-lettered',
      );
    }
    conversation.events.shift();
    this.acceptedAt.delete(event.id);
    const tenant = this.tenantAcceptedAt.get(event.ref.tenant);
    tenant?.delete(event.id);
    if (tenant?.size === 0) this.tenantAcceptedAt.delete(event.ref.tenant);
    this.attempts.delete(event.id);
    this.outages.delete(event.id);
    this.pendingCount--;
  }

  /** The turn's state read from the store, and what the handler hands back, written to store and feed on apply. */
  private async turnCommit(
    conversationKey: string,
    { states, feed }: NonNullable<ConsumeOptions['commit']>,
  ): Promise<{ turn: NonNullable<DeliveryContext['turn']>; apply(fencingToken: number): Promise<void> }> {
    let saved: DialogState | undefined;
    const messages: OutboundMessage[] = [];
    return {
      turn: {
        state: await states.load(conversationKey),
        saveState: (state) => {
          saved = state;
        },
        publish: (message) => {
          messages.push(message);
        },
      },
      apply: async (fencingToken) => {
        if (saved) await states.save(saved, { fencingToken });
        for (const message of messages) await feed.publish(message);
      },
    };
  }

  private backOff(conversation: Conversation, delayMs: number): void {
    if (!this.closed) conversation.retryTimer = setTimeout(() => this.endBackoff(conversation), delayMs);
  }

  private endBackoff(conversation: Conversation): void {
    conversation.retryTimer = undefined;
    this.markReady(conversation);
    this.pump();
  }

  private forgetExpiredIds(): void {
    const now = Date.now();
    for (const [id, expiresAt] of this.seen) {
      if (expiresAt > now) return;
      this.seen.delete(id);
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new HubError('bus.closed', 'The bus is closed.');
  }
}
