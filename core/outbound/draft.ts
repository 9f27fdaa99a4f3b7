import type { Logger } from '../log';
import { type ConversationRef, HubError, isRetryable, type OutboundMessage } from '../types';
import type { DeliveryReport, OutboundScheduler } from './scheduler';
import type { PlatformSender } from './types';

/**
 * A reply still being generated, shown to the customer as one platform message whose text is
 * edited as the answer grows; the final delivery edits it into the finished reply.
 */
export interface DraftSink {
  /** The answer so far. Never waits and never throws: the sink decides whether and when to show it. */
  update(textSoFar: string): void;
  /** No more updates; resolves once the call in flight is done, so the final edit comes after it. */
  settle(): Promise<void>;
}

/** A push channel's send side plus what drafts need: a plain post and edits of a posted message. */
export interface DraftPlatform<Call> extends PlatformSender<Call> {
  /** Posts a draft's text (plain, no buttons). */
  draftPost(message: OutboundMessage, text: string): Call;
  /** Replaces the text of the posted draft `platformMessageId`. */
  draftEdit(message: OutboundMessage, platformMessageId: string, text: string): Call;
  /** The final message's first call as an edit of the draft; undefined when that call cannot be an edit. */
  editInto(call: Call, platformMessageId: string): Call | undefined;
}

export interface DraftOptions {
  /** At most one draft call per this many ms per message (on top of the platform's rate rules). */
  intervalMs: number;
  /** A draft is shown again only when the answer grew by at least this many characters. */
  minChars: number;
  /** Longest draft text the platform takes in one message; the rest appears with the final reply. */
  maxChars: number;
}

/** Marks a draft as unfinished for the customer; the final edit replaces it. */
const IN_PROGRESS = ' …';
/** How long a claim to post a draft lasts: a worker that died mid-post frees the draft after this. */
const CLAIM_LEASE_MS = 30_000;

/** The ledger key of a reply's draft: its platform message id once posted, "no draft" once closed. */
export const draftKey = (channel: string, replyId: string) => `${channel}:${replyId}:draft`;

/**
 * Start a draft for the reply `replyId`. Nothing is posted until the first update; the draft's
 * platform message id is kept in the outbound ledger (Redis when the hub runs on Redis), so a
 * redelivered turn — another worker, after a crash — edits the same message instead of posting again.
 */
export function openDraft<Call>(
  scheduler: OutboundScheduler,
  platform: DraftPlatform<Call>,
  reply: { id: string; ref: ConversationRef; locale?: string },
  options: DraftOptions,
  logger: Logger,
): DraftSink {
  return new StreamingDraft(scheduler, platform, reply, options, logger);
}

class StreamingDraft<Call> implements DraftSink {
  private readonly message: OutboundMessage;
  private latest = '';
  /** Length of the answer the platform shows, and when the last draft call went out. */
  private shownChars = 0;
  private shownAt = 0;
  private platformMessageId?: string;
  private stopped = false;
  private inFlight?: Promise<void>;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly scheduler: OutboundScheduler,
    private readonly platform: DraftPlatform<Call>,
    reply: { id: string; ref: ConversationRef; locale?: string },
    private readonly options: DraftOptions,
    private readonly logger: Logger,
  ) {
    this.message = {
      id: reply.id,
      ref: reply.ref,
      locale: reply.locale,
      content: { type: 'text', text: '', format: 'plain' },
      createdAt: new Date().toISOString(),
    };
  }

  update(textSoFar: string): void {
    if (this.stopped) return;
    this.latest = textSoFar;
    this.schedule();
  }

  async settle(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.inFlight;
  }

  private schedule(): void {
    if (this.stopped || this.inFlight || this.timer) return;
    const visible = Math.min(this.latest.trim().length, this.options.maxChars);
    if (visible - this.shownChars < this.options.minChars) return;
    const wait = this.shownAt + this.options.intervalMs - Date.now();
    if (wait > 0) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.schedule();
      }, wait);
      return;
    }
    this.inFlight = this.show(visible).finally(() => {
      this.inFlight = undefined;
      this.schedule();
    });
  }

  private async show(visible: number): Promise<void> {
    const text = `${this.latest.trim().slice(0, visible)}${IN_PROGRESS}`;
    this.shownAt = Date.now();
    try {
      if (this.platformMessageId) {
        await this.call(this.platform.draftEdit(this.message, this.platformMessageId, text));
      } else if (!(await this.post(text))) {
        return;
      }
      this.shownChars = visible;
    } catch (error) {
      // A draft is a courtesy: the final delivery still carries the whole answer.
      if (!isRetryable(error)) this.stopped = true;
      this.logger.warn(
        { channel: this.platform.channel, replyId: this.message.id, code: (error as HubError).code },
        this.stopped ? 'draft refused by the platform; the answer comes whole' : 'draft update skipped',
      );
    } finally {
      this.shownAt = Date.now();
    }
  }

  /** Post the first draft, or adopt the one an earlier delivery of this turn posted. False: no drafting. */
  private async post(text: string): Promise<boolean> {
    const { ledger, policy } = this.scheduler;
    const key = draftKey(this.platform.channel, this.message.id);
    const claim = await ledger.claim(key, CLAIM_LEASE_MS);
    if (claim.state === 'in_flight' || (claim.state === 'sent' && !claim.platformMessageId)) {
      // Another worker is posting this draft, or the reply was already delivered without one.
      this.stopped = true;
      return false;
    }
    if (claim.state === 'sent') {
      this.platformMessageId = claim.platformMessageId;
      await this.call(this.platform.draftEdit(this.message, claim.platformMessageId as string, text));
      return true;
    }
    let id: string | undefined;
    try {
      id = await this.call(this.platform.draftPost(this.message, text));
    } catch (error) {
      await ledger.release(key, claim.token);
      throw error;
    }
    if (!id) {
      await ledger.release(key, claim.token);
      this.stopped = true;
      return false;
    }
    await ledger.markSent(key, claim.token, policy.idempotencyTtlMs, id);
    this.platformMessageId = id;
    return true;
  }

  private call(call: Call): Promise<string | undefined> {
    return this.scheduler.tryOnce(this.message, this.platform, call, this.options.intervalMs);
  }
}

/**
 * The final delivery of a reply on a channel that drafts: when a draft was posted, its message is
 * edited into the reply's first part (buttons and formatting included) and the rest is posted; when
 * none was, the reply is posted as usual and the draft closed, so a late draft never follows it.
 * Every call goes through the scheduler, idempotent per reply as before.
 */
export async function deliverOverDraft<Call>(
  scheduler: OutboundScheduler,
  platform: DraftPlatform<Call>,
  message: OutboundMessage,
  logger: Logger,
): Promise<DeliveryReport> {
  if (message.content.type === 'typing') return scheduler.deliver(message, platform);
  const { ledger, policy } = scheduler;
  const key = draftKey(platform.channel, message.id);
  const claim = await ledger.claim(key, CLAIM_LEASE_MS);
  if (claim.state === 'in_flight') {
    throw new HubError(
      'outbound.in_flight',
      `the draft of ${message.id} is being posted by another worker; the turn is retried`,
      { retryable: true },
    );
  }
  if (claim.state === 'claimed') {
    await ledger.markSent(key, claim.token, policy.idempotencyTtlMs);
    return scheduler.deliver(message, platform);
  }
  if (!claim.platformMessageId) return scheduler.deliver(message, platform);
  return scheduler.deliver(message, overDraft(platform, claim.platformMessageId, logger));
}

interface OverDraftCall<Call> {
  post: Call;
  edit?: Call;
}

/** The platform's sender with the first call editing the draft; a refused edit posts instead. */
function overDraft<Call>(
  platform: DraftPlatform<Call>,
  draftId: string,
  logger: Logger,
): PlatformSender<OverDraftCall<Call>> {
  return {
    channel: platform.channel,
    render: (message) =>
      platform.render(message).map((post, index) => {
        const edit = index === 0 ? platform.editInto(post, draftId) : undefined;
        return edit ? { post, edit } : { post };
      }),
    rules: (message, call) => platform.rules(message, call.edit ?? call.post),
    async send(message, call) {
      if (!call.edit) return platform.send(message, call.post);
      try {
        return (await platform.send(message, call.edit)) ?? draftId;
      } catch (error) {
        if (isRetryable(error)) throw error;
        // The draft is gone or can no longer be edited (deleted by the customer, too old): post the reply.
        logger.warn(
          { channel: platform.channel, messageId: message.id, code: (error as HubError).code },
          'final edit of the draft refused; posting the reply as a new message',
        );
        return platform.send(message, call.post);
      }
    },
  };
}
