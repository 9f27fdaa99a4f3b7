import { logger } from '../log';
import type { InboundEvent, TicketDraft } from '../types';
import type { TicketCommentOutbox } from './comment-outbox';
import { customerCommentText } from './customer-comment';
import type { TicketOutbox, TicketRequest } from './outbox';
import type { CrashPoint, TicketDeliveryWorker } from './worker';

export interface TicketServiceOptions {
  outbox: TicketOutbox;
  /** The configured helpdesk driver; requests are delivered through it. */
  adapter: string;
  /** Where customer messages for an open ticket wait for delivery; absent: they are not forwarded. */
  comments?: TicketCommentOutbox;
  worker?: TicketDeliveryWorker;
  crashHook?: (point: CrashPoint) => void;
}

/**
 * What the dialog calls to open a ticket: write it to the outbox (one transaction), then nudge the
 * delivery worker. Never talks to the helpdesk itself, so a slow or failing helpdesk never stalls
 * a conversation and a crash never loses the request.
 */
export class TicketService {
  constructor(private readonly options: TicketServiceOptions) {}

  get adapter(): string {
    return this.options.adapter;
  }

  /** Idempotent on `dedupeKey` (e.g. the inbound event id): a redelivered turn gets the same reference. */
  async open(draft: TicketDraft, dedupeKey: string): Promise<{ request: TicketRequest; created: boolean }> {
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
   * as a public customer comment on the ticket `reference`, once per event id. Throws when the
   * outbox cannot be written, so the turn fails and the bus delivers the event again; returns
   * false when there is nothing to forward or the hub has no ticket of that reference.
   */
  async addCustomerMessage(reference: string, event: InboundEvent): Promise<boolean> {
    const { comments } = this.options;
    const body = customerCommentText(event);
    if (!comments || !body) return false;
    const { created, known } = await comments.enqueue({
      requestId: reference,
      eventId: event.id,
      author: 'customer',
      body,
      public: true,
    });
    if (!known) {
      logger.warn(
        { ticket: reference, event: event.id },
        'no ticket request of this reference; message not forwarded',
      );
      return false;
    }
    this.options.crashHook?.('comment-after-enqueue');
    if (created) this.options.worker?.kick();
    return true;
  }
}
