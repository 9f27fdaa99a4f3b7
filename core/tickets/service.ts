import { cleanText } from '../channels/clean-text';
import { logger } from '../log';
import { errors } from '../metrics';
import { defaultPiiMasker, type PiiMasker } from '../privacy/mask';
import { isOutage } from '../resilience/outage';
import { HubError, type InboundEvent, type TicketDraft } from '../types';
import type { NewTicketComment, TicketCommentOutbox } from './comment-outbox';
import { customerCommentText } from './customer-comment';
import type { TicketOutbox, TicketRequest } from './outbox';
import { maskTicketDraft, type TicketPii } from './privacy';
import type { CrashPoint, TicketDeliveryWorker } from './worker';

export interface TicketServiceOptions {
  outbox: TicketOutbox;
  /** The configured helpdesk driver; requests are delivered through it. */
  adapter: string;
  /** Where customer messages for an open ticket wait for delivery; absent: they are not forwarded. */
  comments?: TicketCommentOutbox;
  worker?: TicketDeliveryWorker;
  crashHook?: (point: CrashPoint) => void;
  /**
   * `ticketing.pii`: `masked` (default) sends the helpdesk the draft and the customer's comments
   * with personal data as placeholders (core/tickets/privacy.ts); `clear` sends them as written.
   */
  pii?: TicketPii;
  /** The masker of `privacy.pii` (per-tenant rules); default every built-in kind. */
  masker?: PiiMasker;
}

/**
 * What the dialog calls to open a ticket: write it to the outbox (one transaction), then nudge the
 * delivery worker. Never talks to the helpdesk itself, so a slow or failing helpdesk never stalls
 * a conversation and a crash never loses the request.
 */
export class TicketService {
  constructor(private readonly options: TicketServiceOptions) {}

  private get masked(): boolean {
    return (this.options.pii ?? 'masked') === 'masked';
  }

  private get masker(): PiiMasker {
    return this.options.masker ?? defaultPiiMasker;
  }

  /** The detector of `privacy.pii`: a ticket's subject is masked by it whatever `ticketing.pii` says. */
  get piiMasker(): PiiMasker {
    return this.masker;
  }

  get adapter(): string {
    return this.options.adapter;
  }

  /** Idempotent on `dedupeKey` (e.g. the inbound event id): a redelivered turn gets the same reference. */
  async open(written: TicketDraft, dedupeKey: string): Promise<{ request: TicketRequest; created: boolean }> {
    const draft = this.masked ? maskTicketDraft(written, this.masker) : written;
    const result = await this.options.outbox.enqueue({
      dedupeKey,
      conversationKey: draft.conversationKey,
      tenant: draft.conversation.tenant,
      adapter: this.options.adapter,
      draft,
    });
    this.options.crashHook?.('ticket-after-enqueue');
    this.options.worker?.kick();
    return result;
  }

  /**
   * A customer's message written while a person owns the conversation (or one is awaited): queue it
   * as a public customer comment on the ticket `reference`, once per event id; the ticket worker
   * delivers it with its own retries. A side effect of the turn, so it never stops the customer's
   * answer: when the database is unreachable (an outage) it throws, the bus holds the event without
   * spending an attempt and the turn runs again once it is back; any other failure to queue it (a
   * value the database refuses) is logged and counted (`hub_errors_total{stage="ticket_comment"}`)
   * and the turn goes on. Returns false when nothing was queued.
   */
  async addCustomerMessage(reference: string, event: InboundEvent): Promise<boolean> {
    // Cleaned again here: a comment is the helpdesk's record, whatever path the event came by.
    const written = cleanText(customerCommentText(event));
    return this.queueComment(reference, event, {
      requestId: reference,
      eventId: event.id,
      author: 'customer',
      body: this.masked ? this.masker.mask(written, event.ref.tenant) : written,
      public: true,
    });
  }

  /**
   * The customer called off the handoff while waiting for a person: the bot leaves an internal note
   * on the ticket (why, and the customer's words) and marks it solved, in that order, through the
   * comment outbox, so the agent queue does not keep a case nobody waits on. Queued once per event;
   * a side effect of the turn like `addCustomerMessage`. Returns false when nothing was queued.
   */
  async noteHandoffCancelled(reference: string, event: InboundEvent): Promise<boolean> {
    const words = cleanText(customerCommentText(event));
    const said = this.masked ? this.masker.mask(words, event.ref.tenant) : words;
    const note = `The customer cancelled the request for a person while waiting; the bot has the conversation again and this ticket is marked solved.${said ? ` The customer wrote: "${said}"` : ''}`;
    return this.queueComment(reference, event, {
      requestId: reference,
      eventId: `${event.id}:handoff-cancelled`,
      author: 'bot',
      body: note,
      public: false,
      setStatus: 'solved',
    });
  }

  private async queueComment(
    reference: string,
    event: InboundEvent,
    comment: NewTicketComment,
  ): Promise<boolean> {
    const { comments } = this.options;
    if (!comments || !comment.body) return false;
    let result: { created: boolean; known: boolean };
    try {
      result = await comments.enqueue(comment);
    } catch (error) {
      if (isOutage(error)) throw error;
      const code = error instanceof HubError ? error.code : ((error as { code?: string })?.code ?? 'unknown');
      errors.inc({ stage: 'ticket_comment', code: String(code) });
      logger.error(
        { ticket: reference, event: event.id, err: error },
        'could not queue the customer message as a ticket comment; the turn goes on without it',
      );
      return false;
    }
    if (!result.known) {
      logger.warn(
        { ticket: reference, event: event.id },
        'no ticket request of this reference; message not forwarded',
      );
      return false;
    }
    this.options.crashHook?.('comment-after-enqueue');
    if (result.created) this.options.worker?.kick();
    return true;
  }
}
