import { logger } from '../log';
import { type OrderAccess, type OwnershipProof, proofFromText } from '../orders/access';
import { buildTicketDraft } from '../tickets/draft';
import type { TicketService } from '../tickets/service';
import {
  type DialogState,
  HubError,
  type HubStore,
  type InboundEvent,
  ORDER_ID_PATTERN,
  type TicketTranscriptLine,
} from '../types';
import { commandText } from './command-messages';
import type { Language } from './language';

/**
 * Deterministic commands checked before retrieval: an order id → the order's status after an
 * ownership check; an explicit request for a person → one ticket through the outbox. A stopgap
 * until intents and flows (issue 3) take these over; it owns the slots under "order." and "ticket.".
 */
export interface CommandDeps {
  orders?: OrderAccess;
  tickets?: TicketService;
  /** The transcript is read for the ticket (the dialog history is capped). */
  store?: HubStore;
  maxVerificationAttempts: number;
  /** Open a ticket when the ERP fails during an order question. */
  ticketOnErpFailure: boolean;
}

export interface CommandInput {
  event: InboundEvent;
  text: string;
  language: Language;
  /** The next state; a command changes its slots and handoff. */
  state: DialogState;
}

export interface CommandReply {
  text: string;
}

export const SLOT_PENDING_ORDER = 'order.pending';
export const SLOT_ATTEMPTS = 'order.attempts';
export const SLOT_PROOF = 'order.proof';
export const SLOT_TICKET = 'ticket.reference';

const HUMAN_REQUEST =
  /\b(human|agent|real person|live person|representative|operator)\b|人工|转人工|真人|客服人员/i;

export function asksForHuman(text: string): boolean {
  return HUMAN_REQUEST.test(text);
}

export class DialogCommands {
  constructor(private readonly deps: CommandDeps) {}

  /** The reply when a command applies, else undefined (the engine answers from knowledge). */
  async handle(input: CommandInput): Promise<CommandReply | undefined> {
    if (this.deps.tickets && asksForHuman(input.text)) return this.handoff(input, 'customer_request');
    if (!this.deps.orders) return undefined;
    const orderId = ORDER_ID_PATTERN.exec(input.text.toUpperCase())?.[0];
    const pending = input.state.slots[SLOT_PENDING_ORDER];
    if (orderId) return this.order(input, orderId, proofFromText(input.text));
    if (typeof pending === 'string') {
      const typed = proofFromText(input.text);
      if (typed.email || typed.phone) return this.order(input, pending, typed);
    }
    return undefined;
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
      return { text: commandText.proofLocked()[language] };
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
      return { text: commandText.orderStatus(lookup.order)[language] };
    }
    if (lookup.outcome === 'needs_proof' || !hasTyped) {
      // Proof from the channel or an earlier answer did not fit this order: ask, without saying why.
      state.slots = { ...state.slots, [SLOT_PENDING_ORDER]: orderId };
      return { text: commandText.askProof(orderId)[language] };
    }
    const used = attempts + 1;
    const left = this.deps.maxVerificationAttempts - used;
    state.slots = { ...state.slots, [SLOT_PENDING_ORDER]: orderId, [SLOT_ATTEMPTS]: used };
    if (left <= 0) {
      const { [SLOT_PENDING_ORDER]: _locked, ...rest } = state.slots;
      state.slots = rest;
      return { text: commandText.proofLocked()[language] };
    }
    return { text: commandText.proofMismatch(orderId, left)[language] };
  }

  private async erpFailed(input: CommandInput, error: unknown): Promise<CommandReply> {
    const code = error instanceof HubError ? error.code : 'erp.unknown';
    logger.warn({ code }, 'ERP lookup failed');
    if (this.deps.ticketOnErpFailure && this.deps.tickets) {
      const reply = await this.handoff(input, 'erp_failure');
      if (reply) return reply;
    }
    return { text: commandText.erpDown()[input.language] };
  }

  private async handoff(
    input: CommandInput,
    reason: 'customer_request' | 'erp_failure',
  ): Promise<CommandReply> {
    const { state, language, event } = input;
    const tickets = this.deps.tickets as TicketService;
    const existing = state.slots[SLOT_TICKET];
    if (typeof existing === 'string' && state.handoff !== 'bot') {
      return { text: commandText.handoffAlready(existing)[language] };
    }
    try {
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
        intent: reason === 'erp_failure' ? 'order_status' : 'human_handoff',
        slots: state.slots,
        locale: language,
        reason,
      });
      // One ticket per inbound message: a redelivered turn finds the first request.
      const { request } = await tickets.open(draft, `${draft.conversationKey}|${event.id}`);
      state.slots = { ...state.slots, [SLOT_TICKET]: request.id };
      state.handoff = 'waiting';
      const text =
        reason === 'erp_failure'
          ? commandText.erpDownTicket(request.id)
          : commandText.handoffCreated(request.id);
      return { text: text[language] };
    } catch (error) {
      logger.warn(
        { code: error instanceof HubError ? error.code : 'ticket.enqueue' },
        'could not open a ticket',
      );
      return { text: commandText.handoffUnavailable()[language] };
    }
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
