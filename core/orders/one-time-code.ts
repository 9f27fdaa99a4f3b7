import { createHmac, randomBytes, randomInt } from 'node:crypto';
import { constantTimeEqual } from '../resilience/constant-time';
import type { Order } from '../types';

/** Sends a code to the e-mail address or phone number on the order (an SMS or e-mail provider). */
export type CodeSender = (to: { kind: 'email' | 'phone'; address: string }, code: string) => Promise<void>;

/**
 * A pending one-time code, safe to keep in DialogState.slots: it holds a keyed hash of the code,
 * never the code itself.
 */
export interface CodeChallenge {
  orderId: string;
  sentTo: 'email' | 'phone';
  /** Masked address to show the customer, e.g. "a***@example.com". */
  masked: string;
  hash: string;
  expiresAt: number;
  attemptsLeft: number;
}

export type CodeCheck = 'valid' | 'wrong' | 'expired' | 'exhausted';

/**
 * Ownership by one-time code: the code goes to the contact on the order, so whoever can read it
 * owns the order even when the chat channel knows nothing about the customer.
 */
export class OneTimeCodes {
  private readonly key: Buffer;

  constructor(
    private readonly send: CodeSender,
    private readonly options: { ttlMs: number; attempts: number; secret?: Buffer; now?: () => number } = {
      ttlMs: 10 * 60_000,
      attempts: 3,
    },
  ) {
    this.key = options.secret ?? randomBytes(32);
  }

  /**
   * Send a 6-digit code to the order's e-mail (preferred) or phone, of those `deliverable` allows;
   * undefined when the order has neither.
   */
  async issue(
    order: Order,
    deliverable: (kind: 'email' | 'phone') => boolean = () => true,
  ): Promise<CodeChallenge | undefined> {
    const target =
      order.customer.email && deliverable('email')
        ? { kind: 'email' as const, address: order.customer.email }
        : order.customer.phone && deliverable('phone')
          ? { kind: 'phone' as const, address: order.customer.phone }
          : undefined;
    if (!target) return undefined;
    const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
    await this.send(target, code);
    return {
      orderId: order.id,
      sentTo: target.kind,
      masked: mask(target),
      hash: this.hash(order.id, code),
      expiresAt: this.now() + this.options.ttlMs,
      attemptsLeft: this.options.attempts,
    };
  }

  /**
   * A challenge no code can answer, for an order that does not exist or has nowhere to send to:
   * the customer is told the same as for a real one, so order ids cannot be probed this way.
   */
  decoy(orderId: string): CodeChallenge {
    return {
      orderId,
      sentTo: 'email',
      masked: '',
      hash: this.hash(orderId, randomBytes(16).toString('hex')),
      expiresAt: this.now() + this.options.ttlMs,
      attemptsLeft: this.options.attempts,
    };
  }

  /** Check a typed code; the caller stores the returned challenge (attempts are spent on it). */
  verify(challenge: CodeChallenge, typed: string): { result: CodeCheck; challenge: CodeChallenge } {
    if (challenge.attemptsLeft <= 0) return { result: 'exhausted', challenge };
    if (this.now() > challenge.expiresAt) return { result: 'expired', challenge };
    const code = typed.replace(/\D/g, '');
    const expected = Buffer.from(challenge.hash, 'hex');
    const actual = Buffer.from(this.hash(challenge.orderId, code), 'hex');
    if (code.length === 6 && constantTimeEqual(expected, actual)) {
      return { result: 'valid', challenge: { ...challenge, attemptsLeft: 0 } };
    }
    return { result: 'wrong', challenge: { ...challenge, attemptsLeft: challenge.attemptsLeft - 1 } };
  }

  private hash(orderId: string, code: string): string {
    return createHmac('sha256', this.key).update(`${orderId}:${code}`).digest('hex');
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }
}

function mask(target: { kind: 'email' | 'phone'; address: string }): string {
  if (target.kind === 'phone') return `•••${target.address.replace(/\D/g, '').slice(-2)}`;
  const [user = '', domain = ''] = target.address.split('@');
  return `${user.slice(0, 1)}***@${domain}`;
}
