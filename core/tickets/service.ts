import type { TicketDraft } from '../types';
import type { TicketOutbox, TicketRequest } from './outbox';
import type { CrashPoint, TicketDeliveryWorker } from './worker';

export interface TicketServiceOptions {
  outbox: TicketOutbox;
  /** The configured helpdesk driver; requests are delivered through it. */
  adapter: string;
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

  status(requestId: string): Promise<TicketRequest | undefined> {
    return this.options.outbox.get(requestId);
  }
}
