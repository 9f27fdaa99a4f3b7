import { randomUUID } from 'node:crypto';
import { setTimeout as wait } from 'node:timers/promises';
import type { HubConfig } from '../config/schema';
import { detectLanguage } from '../dialog/language';
import type { Logger } from '../log';
import { admissionOutcomes } from '../metrics';
import {
  conversationKey,
  type EventBus,
  type InboundEvent,
  type KeyValueStore,
  type OutboundMessage,
  type PublishResult,
  type TenantBacklog,
} from '../types';
import { HubError } from '../types/errors';

export type AdmissionConfig = HubConfig['bus']['admission'];

/** The code of a message refused because its tenant's queue is over its limits (503 + Retry-After). */
export const INGRESS_BUSY = 'ingress.busy';

/** A busy period ends when none of the tenant's messages was over its limits for this long. */
const BUSY_PERIOD_IDLE_MS = 60_000;
/** How long a conversation is remembered as told within one busy period. */
const NOTICE_KEPT_MS = 6 * 3_600_000;
/** Typing indicators after the first, while one message waits. */
const MAX_TYPING_REFRESHES = 12;

const BUSY_TEXT = {
  en: "We're busier than usual right now. Your message is in the queue and we'll answer as soon as we can; there is no need to send it again.",
  zh: '我们现在比平时忙。您的消息已在排队，我们会尽快回复，无需重复发送。',
} as const;

export interface AdmissionDeps {
  bus: Pick<EventBus, 'tenantBacklog' | 'isPending'>;
  config: AdmissionConfig;
  /** Expiring keys every process shares (Redis when the hub runs on Redis): busy periods, notices sent. */
  storage: KeyValueStore;
  /** A system message to the conversation, as a turn's reply goes: the reply feed and the channel's push. */
  notify(message: OutboundMessage): Promise<void>;
  logger: Pick<Logger, 'warn'>;
}

type Accept = (event: InboundEvent) => Promise<PublishResult>;

/**
 * Admission control per tenant, in front of a channel's `accept`. Past the tenant's limits
 * (`bus.admission`: backlog, age of its oldest waiting message), a channel whose caller waits for
 * the answer and can retry (REST) is refused with 503 `ingress.busy` and Retry-After: nothing is
 * enqueued, the client sends again later. A chat channel's message is accepted all the same (a
 * platform refused would only redeliver it), and its conversation is told once per busy period, in
 * its language, that it is in the queue. A push-channel message that will wait gets a typing
 * indicator, renewed while it waits. Costs one O(1) read of the bus per message where a limit or
 * the typing indicator (on by default for chat channels) applies; readiness never depends on it.
 */
export class Admission {
  private readonly closing = new AbortController();

  constructor(private readonly deps: AdmissionDeps) {}

  /** `accept` of one channel under admission control; REST refuses, every other type queues. */
  wrap(accept: Accept, channel: { id: string; type: string }): Accept {
    const { config } = this.deps;
    const refuses = channel.type === 'rest';
    const typing = !refuses && config.typingAfterMs > 0;
    return async (event) => {
      const limits = limitsOf(config, event.ref.tenant);
      if (!limits && !typing) return accept(event);
      const backlog = await this.backlogOf(event.ref.tenant);
      const over = backlog && limits ? overLimits(limits, backlog) : undefined;
      if (over && refuses) {
        admissionOutcomes.inc({ channel: channel.id, outcome: 'refused', reason: over });
        throw new HubError(
          INGRESS_BUSY,
          `Too many messages are waiting for an answer (${over === 'backlog' ? 'backlog' : 'queue age'} over the limit); the message was not accepted, send it again later`,
          { retryable: true, status: 503, retryAfterSeconds: config.retryAfterSeconds, refusal: true },
        );
      }
      const result = await accept(event);
      if (!result.accepted || (event.kind !== 'message' && event.kind !== 'action')) return result;
      const waits = over !== undefined || (backlog?.oldestAgeMs ?? 0) >= config.typingAfterMs;
      if (over) admissionOutcomes.inc({ channel: channel.id, outcome: 'queued', reason: over });
      if (over || (typing && waits)) void this.tellWaiting(event, over !== undefined, typing && waits);
      return result;
    };
  }

  /** Stops the typing indicators still running. */
  close(): void {
    this.closing.abort();
  }

  /** Unknown when the bus does not answer: the message is then admitted, and `accept` says whether the bus is there. */
  private async backlogOf(tenant: string): Promise<TenantBacklog | undefined> {
    try {
      return await this.deps.bus.tenantBacklog(tenant);
    } catch (error) {
      this.deps.logger.warn({ err: error, tenant }, 'admission: the bus backlog could not be read; admitted');
      return undefined;
    }
  }

  /** The busy notice first (a message ends the platform's typing indicator), then typing while it waits. */
  private async tellWaiting(event: InboundEvent, busy: boolean, typing: boolean): Promise<void> {
    try {
      if (busy) await this.noticeOnce(event);
      if (typing) await this.keepTyping(event);
    } catch (error) {
      if (this.closing.signal.aborted) return;
      this.deps.logger.warn(
        { err: error, eventId: event.id },
        'admission: the waiting customer could not be told',
      );
    }
  }

  private async noticeOnce(event: InboundEvent): Promise<void> {
    const { storage, notify } = this.deps;
    const period = await this.busyPeriod(event.ref.tenant);
    const key = conversationKey(event.ref);
    const first = await storage.set(`notice:${period}:${key}`, '1', {
      ttlMs: NOTICE_KEPT_MS,
      ifAbsent: true,
    });
    if (!first) return;
    const language = detectLanguage(event.text ?? '', event.locale);
    await notify({
      id: `busy:${period}:${key}`,
      ref: event.ref,
      content: { type: 'text', text: BUSY_TEXT[language] },
      locale: language,
      createdAt: new Date().toISOString(),
      source: 'system',
    });
  }

  /** The tenant's current busy period: started by its first message over the limits, kept while more come. */
  private async busyPeriod(tenant: string): Promise<string> {
    const { storage } = this.deps;
    const key = `busy:${tenant}`;
    const current = await storage.get(key);
    if (current) {
      await storage.set(key, current, { ttlMs: BUSY_PERIOD_IDLE_MS });
      return current;
    }
    const fresh = randomUUID();
    if (await storage.set(key, fresh, { ttlMs: BUSY_PERIOD_IDLE_MS, ifAbsent: true })) return fresh;
    // Another process started it a moment ago.
    return (await storage.get(key)) ?? fresh;
  }

  private async keepTyping(event: InboundEvent): Promise<void> {
    const { bus, config, notify } = this.deps;
    const typing = (n: number): OutboundMessage => ({
      id: `typing:${event.id}:${n}`,
      ref: event.ref,
      content: { type: 'typing' },
      createdAt: new Date().toISOString(),
      source: 'system',
    });
    await notify(typing(0));
    if (config.typingRefreshMs === 0) return;
    for (let n = 1; n <= MAX_TYPING_REFRESHES; n++) {
      await wait(config.typingRefreshMs, undefined, { signal: this.closing.signal, ref: false });
      if (!(await bus.isPending(event))) return;
      await notify(typing(n));
    }
  }
}

/** The tenant's own limits, else the defaults; undefined when neither sets one. */
function limitsOf(
  config: AdmissionConfig,
  tenant: string,
): { maxBacklog?: number; maxQueueAgeMs?: number } | undefined {
  const limits = config.tenants[tenant] ?? config;
  return limits.maxBacklog || limits.maxQueueAgeMs ? limits : undefined;
}

/** Which limit the tenant's backlog is at or over, if any. */
function overLimits(
  limits: { maxBacklog?: number; maxQueueAgeMs?: number },
  backlog: TenantBacklog,
): 'backlog' | 'queue_age' | undefined {
  if (limits.maxBacklog && backlog.pending >= limits.maxBacklog) return 'backlog';
  if (limits.maxQueueAgeMs && backlog.oldestAgeMs >= limits.maxQueueAgeMs) return 'queue_age';
  return undefined;
}
