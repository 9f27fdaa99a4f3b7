import { cleanText } from '../channels/clean-text';
import { logger } from '../log';
import { errors } from '../metrics';
import { defaultPiiMasker, type PiiMasker } from '../privacy/mask';
import { isOutage } from '../resilience/outage';
import { HubError, type InboundEvent, type TicketDraft } from '../types';
import type { TicketCommentOutbox } from './comment-outbox';
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
    const { comments } = this.options;
    // Cleaned again here: a comment is the helpdesk's record, whatever path the event came by.
    const written = cleanText(customerCommentText(event));
    const body = this.masked ? this.masker.mask(written, event.ref.tenant) : written;
    if (!comments || !body) return false;
    let result: { created: boolean; known: boolean };
    try {
      result = await comments.enqueue({
        requestId: reference,
        eventId: event.id,
        author: 'customer',
        body,
        public: true,
      });
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
