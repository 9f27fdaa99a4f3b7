import { logger } from '../log';
import { type OrderAccess, type OwnershipProof, proofFromText } from '../orders/access';
import { internationalPhone, normalizeEmail } from '../orders/identity';
import type { CodeChallenge, OneTimeCodes } from '../orders/one-time-code';
import type { VerificationLimiter } from '../orders/verification-limit';
import { buildTicketDraft, type TicketReason } from '../tickets/draft';
import type { TicketService } from '../tickets/service';
import {
  type DialogState,
  HubError,
  type HubStore,
  type InboundEvent,
  type Order,
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
  /** Failed proofs per requester and per order over all conversations (erp.verification); absent: no such limit. */
  verificationLimit?: VerificationLimiter;
  /** One-time codes as a proof (proof.otp); absent: none are offered. */
  codes?: CodeProof;
  /** Open a ticket when the ERP fails during an order question. */
  ticketOnErpFailure: boolean;
}

export interface CodeProof {
  codes: OneTimeCodes;
  /** offer: the proof question offers a code; always: one is sent as soon as proof is needed. */
  mode: 'offer' | 'always';
  resendAfterMs: number;
  /** Where codes can go: only to contacts a sender is configured for. */
  deliverable: (kind: 'email' | 'phone') => boolean;
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
/** The pending one-time code (a keyed hash, never the code) and when it was sent. */
export const SLOT_CODE = 'order.code';
/** Orders proven by a one-time code in this conversation. */
export const SLOT_PROVEN = 'order.proven';
export { SLOT_TICKET };

const CODE_REQUEST = /\b(?:code|otp)\b|验证码/i;
const TYPED_CODE = /(?<!\d)\d{6}(?!\d)/;

type PendingCode = CodeChallenge & { issuedAt: number };

export class DialogCommands {
  constructor(private readonly deps: CommandDeps) {}

  /**
   * The customer answers the proof question of an order asked about earlier: a phone or e-mail
   * typed, "code" to get a one-time code, or the code itself.
   */
  async resumeProof(input: CommandInput): Promise<CommandReply | undefined> {
    const pending = input.state.slots[SLOT_PENDING_ORDER];
    if (!this.deps.orders || typeof pending !== 'string') return undefined;
    if (this.deps.codes) {
      const challenge = input.state.slots[SLOT_CODE] as PendingCode | undefined;
      const code = TYPED_CODE.exec(input.text)?.[0];
      if (challenge?.orderId === pending && code) return this.checkCode(input, challenge, code);
      if (CODE_REQUEST.test(input.text)) return this.sendCode(input, pending);
    }
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
    const tenant = event.ref.tenant;
    const orders = this.deps.orders as OrderAccess;
    const attempts = Number(state.slots[SLOT_ATTEMPTS] ?? 0);
    const remembered = (state.slots[SLOT_PROOF] ?? {}) as OwnershipProof;
    const verified = verifiedIdentity(event);
    const requester = requesterOf(event);
    const proof: OwnershipProof = {
      email: typed.email ?? verified.email ?? remembered.email,
      phone: typed.phone ?? verified.phone ?? remembered.phone,
    };
    const hasTyped = Boolean(typed.email || typed.phone);
    const limit = this.deps.verificationLimit;
    if (limit && (await limit.requesterWaitMs(tenant, requester)) > 0) return this.locked(state, language);
    if (hasTyped && attempts >= this.deps.maxVerificationAttempts) {
      return { text: commandText.proofLocked()[language], outcome: 'locked' };
    }
    state.slots = { ...state.slots, 'order.id': orderId };
    if (provenByCode(state).includes(orderId)) return this.showProven(input, orderId);
    // A typed e-mail or phone is a guess: it waits out the order's back-off. What the channel
    // vouches for, and a one-time code, are not guesses and are never held back by it.
    const wait = hasTyped && limit ? await limit.orderWaitMs(tenant, orderId) : 0;
    if (wait > 0) {
      state.slots = { ...state.slots, [SLOT_PENDING_ORDER]: orderId };
      return { text: commandText.proofWait(Math.ceil(wait / 1000))[language], outcome: 'locked' };
    }
    let lookup: Awaited<ReturnType<OrderAccess['lookup']>>;
    try {
      lookup = await orders.lookup(orderId, proof, tenant);
    } catch (error) {
      return this.erpFailed(input, error);
    }
    if (lookup.outcome === 'shown') {
      const {
        [SLOT_PENDING_ORDER]: _done,
        [SLOT_ATTEMPTS]: _reset,
        [SLOT_CODE]: _code,
        ...rest
      } = state.slots;
      // Remember what proved it, so the customer's other orders need no second question.
      state.slots = { ...rest, [SLOT_PROOF]: { [lookup.matchedBy]: proof[lookup.matchedBy] } };
      return { text: commandText.orderStatus(lookup.order)[language], outcome: 'shown' };
    }
    const vouched = !hasTyped && Boolean(verified.email || verified.phone);
    if (lookup.outcome === 'needs_proof' || !hasTyped) {
      // A channel-verified identity that does not fit the order is a failed proof like any other.
      if (vouched && limit) {
        await limit.recordFailure(tenant, orderId, requester);
        if ((await limit.requesterWaitMs(tenant, requester)) > 0) return this.locked(state, language);
      }
      // Proof from the channel or an earlier answer did not fit this order: ask, without saying why.
      state.slots = { ...state.slots, [SLOT_PENDING_ORDER]: orderId };
      if (this.deps.codes?.mode === 'always') return this.sendCode(input, orderId);
      return this.askProof(orderId, language);
    }
    const used = attempts + 1;
    const left = this.deps.maxVerificationAttempts - used;
    state.slots = { ...state.slots, [SLOT_PENDING_ORDER]: orderId, [SLOT_ATTEMPTS]: used };
    const orderLocked = (await limit?.recordFailure(tenant, orderId, requester)) ?? false;
    if (orderLocked) logger.warn({ tenant }, 'order verification backs off after repeated failed proofs');
    const requesterLocked = limit ? (await limit.requesterWaitMs(tenant, requester)) > 0 : false;
    if (left <= 0 || orderLocked || requesterLocked) return this.locked(state, language);
    return { text: commandText.proofMismatch(orderId, left)[language], outcome: 'verify' };
  }

  private askProof(orderId: string, language: Language): CommandReply {
    const offer = this.deps.codes ? commandText.offerCode()[language] : '';
    return { text: commandText.askProof(orderId)[language] + offer, outcome: 'verify' };
  }

  private locked(state: DialogState, language: Language): CommandReply {
    const { [SLOT_PENDING_ORDER]: _locked, [SLOT_CODE]: _code, ...rest } = state.slots;
    state.slots = rest;
    return { text: commandText.proofLocked()[language], outcome: 'locked' };
  }

  /**
   * Send a one-time code to the order's contact. A missing order, or one without a reachable
   * contact, gets a decoy challenge and the same words, so order ids cannot be probed this way.
   */
  private async sendCode(input: CommandInput, orderId: string): Promise<CommandReply> {
    const { state, language, event } = input;
    const { codes, resendAfterMs, deliverable } = this.deps.codes as CodeProof;
    const limit = this.deps.verificationLimit;
    if (limit && (await limit.requesterWaitMs(event.ref.tenant, requesterOf(event))) > 0) {
      return this.locked(state, language);
    }
    const now = clockOf(input);
    const existing = state.slots[SLOT_CODE] as PendingCode | undefined;
    state.slots = { ...state.slots, [SLOT_PENDING_ORDER]: orderId, 'order.id': orderId };
    if (existing?.orderId === orderId && now - existing.issuedAt < resendAfterMs) {
      return { text: commandText.codeSent(orderId)[language], outcome: 'verify' };
    }
    let challenge: CodeChallenge | undefined;
    try {
      const order = await (this.deps.orders as OrderAccess).fetch(orderId, event.ref.tenant);
      challenge = order ? await codes.issue(order, deliverable) : undefined;
    } catch (error) {
      if (error instanceof HubError && error.code.startsWith('proof.')) {
        logger.warn({ code: error.code }, 'one-time code not sent');
        return { text: commandText.codeUnavailable()[language], outcome: 'unavailable' };
      }
      return this.erpFailed(input, error);
    }
    const pendingCode: PendingCode = { ...(challenge ?? codes.decoy(orderId)), issuedAt: now };
    state.slots = { ...state.slots, [SLOT_CODE]: pendingCode };
    return { text: commandText.codeSent(orderId)[language], outcome: 'verify' };
  }

  private async checkCode(input: CommandInput, challenge: PendingCode, code: string): Promise<CommandReply> {
    const { state, language, event } = input;
    const { codes } = this.deps.codes as CodeProof;
    const requester = requesterOf(event);
    const limit = this.deps.verificationLimit;
    if (limit && (await limit.requesterWaitMs(event.ref.tenant, requester)) > 0)
      return this.locked(state, language);
    const checked = codes.verify(challenge, code);
    const { [SLOT_CODE]: _used, ...rest } = state.slots;
    if (checked.result === 'valid') {
      const proven = [...provenByCode(state), challenge.orderId];
      const { [SLOT_PENDING_ORDER]: _done, [SLOT_ATTEMPTS]: _reset, ...others } = rest;
      state.slots = { ...others, [SLOT_PROVEN]: proven, 'order.id': challenge.orderId };
      return this.showProven(input, challenge.orderId);
    }
    state.slots = rest;
    if (checked.result !== 'wrong') return { text: commandText.codeExpired()[language], outcome: 'verify' };
    await limit?.recordFailure(event.ref.tenant, challenge.orderId, requester);
    if (limit && (await limit.requesterWaitMs(event.ref.tenant, requester)) > 0)
      return this.locked(state, language);
    if (checked.challenge.attemptsLeft <= 0)
      return { text: commandText.codeExpired()[language], outcome: 'verify' };
    state.slots = { ...state.slots, [SLOT_CODE]: { ...checked.challenge, issuedAt: challenge.issuedAt } };
    return { text: commandText.codeWrong(checked.challenge.attemptsLeft)[language], outcome: 'verify' };
  }

  /** An order this conversation proved by a one-time code. */
  private async showProven(input: CommandInput, orderId: string): Promise<CommandReply> {
    let order: Order | undefined;
    try {
      order = await (this.deps.orders as OrderAccess).fetch(orderId, input.event.ref.tenant);
    } catch (error) {
      return this.erpFailed(input, error);
    }
    if (!order) return this.askProof(orderId, input.language);
    return { text: commandText.orderStatus(order)[input.language], outcome: 'shown' };
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

/**
 * Who is asking, for the per-requester failure count: the identity the channel vouches for when
 * there is one (so it counts across conversations), else the channel's sender id.
 */
export function requesterOf(event: InboundEvent): string {
  const verified = verifiedIdentity(event);
  if (verified.phone) return `phone:${internationalPhone(verified.phone) ?? verified.phone}`;
  if (verified.email) return `email:${normalizeEmail(verified.email) ?? verified.email}`;
  return `${event.ref.channel}:${event.sender.id}`;
}

function provenByCode(state: DialogState): string[] {
  const proven = state.slots[SLOT_PROVEN];
  return Array.isArray(proven) ? proven.filter((id): id is string => typeof id === 'string') : [];
}

function clockOf(input: CommandInput): number {
  return input.now ? Date.parse(input.now) : Date.now();
}
