import { logger } from '../log';
import { type OrderAccess, type OwnershipProof, proofFromText } from '../orders/access';
import type { VerificationLimiter } from '../orders/verification-limit';
import { buildTicketDraft, type TicketReason } from '../tickets/draft';
import type { TicketService } from '../tickets/service';
import {
  type DialogState,
  HubError,
  type HubStore,
  type InboundEvent,
  type TicketTranscriptLine,
} from '../types';
import { commandText } from './command-messages';
import { recordTicket, SLOT_TICKET, setHandoff, ticketOf } from './handoff';
import type { Language } from './language';

/**
 * The order and ticket side of the dialog, behind the flows' actions (core/dialog/hub-actions.ts):
 * an order's status after an ownership check, and tickets through the outbox. `handle` is the
 * deterministic shortcut for a message that carries an order id or asks for a person; it owns the
 * slots under "order." and "ticket.".
 */
export interface CommandDeps {
  orders?: OrderAccess;
  tickets?: TicketService;
  /** The transcript is read for the ticket (the dialog history is capped). */
  store?: HubStore;
  maxVerificationAttempts: number;
  /** Failed proofs per order over all conversations (erp.verification); absent: no such limit. */
  verificationLimit?: VerificationLimiter;
  /** Open a ticket when the ERP fails during an order question. */
  ticketOnErpFailure: boolean;
}

export interface CommandInput {
  event: InboundEvent;
  text: string;
  language: Language;
  /** The next state; a command changes its slots and handoff. */
  state: DialogState;
  /** The turn's clock (ISO-8601); default now. */
  now?: string;
}

export interface CommandReply {
  text: string;
  /** What happened: the flows branch on it (config/flows/order-status.yaml). */
  outcome?: 'shown' | 'verify' | 'locked' | 'unavailable' | 'ticket';
}

export const SLOT_PENDING_ORDER = 'order.pending';
export const SLOT_ATTEMPTS = 'order.attempts';
export const SLOT_PROOF = 'order.proof';
export { SLOT_TICKET };

export class DialogCommands {
  constructor(private readonly deps: CommandDeps) {}

  /** The customer answers the proof question of an order asked about earlier (phone or e-mail typed). */
  async resumeProof(input: CommandInput): Promise<CommandReply | undefined> {
    const pending = input.state.slots[SLOT_PENDING_ORDER];
    if (!this.deps.orders || typeof pending !== 'string') return undefined;
    const typed = proofFromText(input.text);
    return typed.email || typed.phone ? this.order(input, pending, typed) : undefined;
  }

  /** The `erp.lookupOrder` action: the status after the ownership check, or the question for proof. */
  lookupOrder(input: CommandInput, orderId: string): Promise<CommandReply> {
    if (!this.deps.orders) throw new HubError('erp.unconfigured', 'no ERP adapter is configured');
    return this.order(input, orderId.toUpperCase(), proofFromText(input.text));
  }

  private async order(input: CommandInput, orderId: string, typed: OwnershipProof): Promise<CommandReply> {
    const { state, language, event } = input;
    const orders = this.deps.orders as OrderAccess;
    const attempts = Number(state.slots[SLOT_ATTEMPTS] ?? 0);
    const remembered = (state.slots[SLOT_PROOF] ?? {}) as OwnershipProof;
    const verified = verifiedIdentity(event);
    const proof: OwnershipProof = {
      email: typed.email ?? verified.email ?? remembered.email,
      phone: typed.phone ?? verified.phone ?? remembered.phone,
    };
    const hasTyped = Boolean(typed.email || typed.phone);
    if (hasTyped && attempts >= this.deps.maxVerificationAttempts) {
      return { text: commandText.proofLocked()[language], outcome: 'locked' };
    }
    // Contact details the channel vouches for are no guess; anything else waits out an order's lock.
    const channelVouched = !hasTyped && Boolean(verified.email || verified.phone);
    const limit = this.deps.verificationLimit;
    if (limit && !channelVouched && (await limit.locked(event.ref.tenant, orderId))) {
      const { [SLOT_PENDING_ORDER]: _locked, ...rest } = state.slots;
      state.slots = rest;
      return { text: commandText.proofLocked()[language], outcome: 'locked' };
    }
    state.slots = { ...state.slots, 'order.id': orderId };
    let lookup: Awaited<ReturnType<OrderAccess['lookup']>>;
    try {
      lookup = await orders.lookup(orderId, proof, event.ref.tenant);
    } catch (error) {
      return this.erpFailed(input, error);
    }
    if (lookup.outcome === 'shown') {
      const { [SLOT_PENDING_ORDER]: _done, [SLOT_ATTEMPTS]: _reset, ...rest } = state.slots;
      // Remember what proved it, so the customer's other orders need no second question.
      state.slots = { ...rest, [SLOT_PROOF]: { [lookup.matchedBy]: proof[lookup.matchedBy] } };
      return { text: commandText.orderStatus(lookup.order)[language], outcome: 'shown' };
    }
    if (lookup.outcome === 'needs_proof' || !hasTyped) {
      // Proof from the channel or an earlier answer did not fit this order: ask, without saying why.
      state.slots = { ...state.slots, [SLOT_PENDING_ORDER]: orderId };
      return { text: commandText.askProof(orderId)[language], outcome: 'verify' };
    }
    const used = attempts + 1;
    const left = this.deps.maxVerificationAttempts - used;
    state.slots = { ...state.slots, [SLOT_PENDING_ORDER]: orderId, [SLOT_ATTEMPTS]: used };
    const orderLocked = (await limit?.recordFailure(event.ref.tenant, orderId)) ?? false;
    if (orderLocked) logger.warn({ tenant: event.ref.tenant }, 'order locked after repeated failed proofs');
    if (left <= 0 || orderLocked) {
      const { [SLOT_PENDING_ORDER]: _locked, ...rest } = state.slots;
      state.slots = rest;
      return { text: commandText.proofLocked()[language], outcome: 'locked' };
    }
    return { text: commandText.proofMismatch(orderId, left)[language], outcome: 'verify' };
  }

  private async erpFailed(input: CommandInput, error: unknown): Promise<CommandReply> {
    const code = error instanceof HubError ? error.code : 'erp.unknown';
    logger.warn({ code }, 'ERP lookup failed');
    if (this.deps.ticketOnErpFailure && this.deps.tickets) {
      const reply = await this.handoff(input, 'erp_failure');
      if (reply) return reply;
    }
    return { text: commandText.erpDown()[input.language], outcome: 'unavailable' };
  }

  /**
   * Hand the conversation to a person: one ticket through the outbox, and the conversation waits
   * for an agent. A conversation already waiting is told its ticket instead of getting a second one.
   */
  async handoff(input: CommandInput, reason: TicketReason): Promise<CommandReply> {
    const { state, language } = input;
    const existing = state.slots[SLOT_TICKET];
    if (typeof existing === 'string' && state.handoff !== 'bot') {
      return { text: commandText.handoffAlready(existing)[language], outcome: 'ticket' };
    }
    try {
      const reference = await this.openTicket(input, {
        reason,
        intent: reason === 'erp_failure' ? 'order_status' : 'human_handoff',
      });
      setHandoff(state, 'waiting', input.now ?? new Date().toISOString());
      const text =
        reason === 'erp_failure'
          ? commandText.erpDownTicket(reference)
          : commandText.handoffCreated(reference);
      return { text: text[language], outcome: 'ticket' };
    } catch (error) {
      logger.warn(
        { code: error instanceof HubError ? error.code : 'ticket.enqueue' },
        'could not open a ticket',
      );
      return { text: commandText.handoffUnavailable()[language], outcome: 'unavailable' };
    }
  }

  /**
   * What the customer writes while a person owns the conversation, or one is awaited, goes onto the
   * conversation's ticket as a public comment (through the comment outbox, once per event).
   * Returns whether it was queued; throws when the outbox cannot be written, so the turn is retried.
   */
  async forwardToTicket(event: InboundEvent, state: DialogState): Promise<boolean> {
    const tickets = this.deps.tickets;
    const reference = ticketOf(state);
    if (!tickets || reference === undefined) return false;
    return tickets.addCustomerMessage(reference, event);
  }

  /**
   * One ticket per inbound message, through the outbox: a redelivered turn finds the first request.
   * Returns the reference the customer is told; throws when the outbox cannot be written.
   */
  async openTicket(
    input: CommandInput,
    options: { reason: TicketReason; intent?: string; slots?: Record<string, unknown> },
  ): Promise<string> {
    const { state, language, event } = input;
    const tickets = this.deps.tickets;
    if (!tickets) throw new HubError('ticket.unconfigured', 'no helpdesk is configured');
    const transcript = await this.transcriptOf(input);
    const draft = buildTicketDraft({
      ref: event.ref,
      customer: {
        channel: event.ref.channel,
        tenant: event.ref.tenant,
        userId: event.sender.id,
        name: event.sender.name,
        ...verifiedIdentity(event),
      },
      transcript,
      intent: options.intent,
      slots: { ...state.slots, ...options.slots },
      locale: language,
      reason: options.reason,
    });
    const { request } = await tickets.open(draft, `${draft.conversationKey}|${event.id}`);
    recordTicket(state, { adapter: tickets.adapter, id: request.id });
    return request.id;
  }

  private async transcriptOf(input: CommandInput): Promise<TicketTranscriptLine[]> {
    const { store } = this.deps;
    const key = input.state.conversationKey;
    if (store) {
      const entries = await store.transcript(key, { limit: 100 });
      if (entries.some((e) => e.id === input.event.id)) {
        return entries.map((e) => ({
          role: e.direction === 'in' ? 'customer' : 'bot',
          text: e.text,
          at: e.at,
        }));
      }
    }
    const lines: TicketTranscriptLine[] = input.state.history.map((t) => ({
      role: t.role === 'user' ? 'customer' : 'bot',
      text: t.text,
      at: t.at,
    }));
    return [...lines, { role: 'customer', text: input.text, at: input.event.receivedAt }];
  }
}

/**
 * Contact details the channel itself vouches for: a connector that knows them (WhatsApp's phone
 * number, a signed-in web chat user's e-mail) sets `channelData.verified = { phone?, email? }`.
 */
export function verifiedIdentity(event: InboundEvent): OwnershipProof {
  const verified = event.channelData?.verified as { email?: unknown; phone?: unknown } | undefined;
  return {
    email: typeof verified?.email === 'string' ? verified.email : undefined,
    phone: typeof verified?.phone === 'string' ? verified.phone : undefined,
  };
}
