import { logger } from '../log';
import { type OrderAccess, type OwnershipProof, proofFromText } from '../orders/access';
import { internationalPhone, normalizeEmail } from '../orders/identity';
import type { CodeChallenge, OneTimeCodes } from '../orders/one-time-code';
import type { VerificationLimiter } from '../orders/verification-limit';
import { type DialogState, HubError, type InboundEvent, type Order } from '../types';
import { commandText } from './command-messages';
import type { CommandInput, CommandReply } from './command-types';
import type { Language } from './language';

/**
 * Ownership proof for an order question (README "Ownership proof"): the e-mail or phone on the
 * order, vouched for by the channel or typed, or a one-time code sent to the order's e-mail; failed
 * proofs counted per requester and per order. It owns the slots under "order.".
 */
export interface OrderProofDeps {
  orders?: OrderAccess;
  maxVerificationAttempts: number;
  /** Failed proofs per requester and per order over all conversations (erp.verification); absent: no such limit. */
  verificationLimit?: VerificationLimiter;
  /** One-time codes as a proof (proof.otp); absent: none are offered. */
  codes?: CodeProof;
}

export interface CodeProof {
  codes: OneTimeCodes;
  /** offer: the proof question offers a code; always: one is sent as soon as proof is needed. */
  mode: 'offer' | 'always';
  resendAfterMs: number;
  /** Where codes can go: only to contacts a sender is configured for. */
  deliverable: (kind: 'email' | 'phone') => boolean;
}

export const SLOT_PENDING_ORDER = 'order.pending';
export const SLOT_ATTEMPTS = 'order.attempts';
export const SLOT_PROOF = 'order.proof';
/** The pending one-time code (a keyed hash, never the code) and when it was sent. */
export const SLOT_CODE = 'order.code';
/** Orders proven by a one-time code in this conversation. */
export const SLOT_PROVEN = 'order.proven';

const CODE_REQUEST = /\b(?:code|otp)\b|验证码/i;
const TYPED_CODE = /(?<!\d)\d{6}(?!\d)/;

type PendingCode = CodeChallenge & { issuedAt: number };

/** What the customer hears when the ERP fails (the caller may open a ticket). */
export type ErpFailed = (input: CommandInput, error: unknown) => Promise<CommandReply>;

export class OrderProof {
  constructor(
    private readonly deps: OrderProofDeps,
    private readonly erpFailed: ErpFailed,
  ) {}

  /**
   * The customer answers the proof question of an order asked about earlier: a phone or e-mail
   * typed, "code" to get a one-time code, or the code itself.
   */
  async resume(input: CommandInput): Promise<CommandReply | undefined> {
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

  /** The status after the ownership check, or the question for proof. */
  lookup(input: CommandInput, orderId: string): Promise<CommandReply> {
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
