import type { BreakerConfig } from '../config/adapters-schema';
import { luhnValid } from '../privacy/detect';
import { CircuitBreaker } from '../resilience/breaker';
import { type ConcurrencyLimit, concurrencyLimit } from '../resilience/concurrency';
import {
  AdapterError,
  AdapterErrorCodes,
  type ErpAdapter,
  HubError,
  ORDER_ID_PATTERN,
  type Order,
} from '../types';
import { emailsMatch, type PhoneContext, phonesMatch } from './identity';

/** What the customer has shown: contact details verified by the channel, or typed and checked. */
export interface OwnershipProof {
  email?: string;
  phone?: string;
}

export type OrderLookup =
  | { outcome: 'shown'; order: Order; matchedBy: 'email' | 'phone' }
  /** No such order, or the proof does not match it: the caller must not tell the two apart. */
  | { outcome: 'denied' }
  | { outcome: 'needs_proof' };

/** Whether the contact details prove ownership of the order (phones as E.164, core/orders/identity.ts). */
export function proves(
  order: Order,
  proof: OwnershipProof,
  phone: PhoneContext = {},
): 'email' | 'phone' | undefined {
  if (proof.email && emailsMatch(proof.email, order.customer.email)) return 'email';
  if (proof.phone && phonesMatch(proof.phone, order.customer.phone, phone)) return 'phone';
  return undefined;
}

/** The region of phone numbers written without a country code, per tenant (`proof.phone`). */
export type PhoneRegionOf = (tenant: string) => string | undefined;

/**
 * The one door to order data for the dialog: an order is returned only to a customer whose phone
 * or e-mail matches the one on the order. "Not found" and "not yours" look the same from outside,
 * so order ids cannot be probed for existence. ERP errors propagate (HubError) for the caller to
 * answer honestly.
 */
export class OrderAccess {
  /** Consecutive ERP failures open it: customers then hear at once that orders cannot be looked up. */
  readonly breaker: CircuitBreaker;
  private readonly limited: ConcurrencyLimit;

  constructor(
    private readonly erp: ErpAdapter,
    private readonly timeoutMs: number,
    breaker: BreakerConfig = { failureThreshold: 5, resetMs: 500, maxResetMs: 2_000, probeTimeoutMs: 2_000 },
    private readonly phoneRegionOf: PhoneRegionOf = () => undefined,
    /** Look-ups sent to the ERP at once (`erp.maxConcurrency`); the rest wait in line. Unset: no limit. */
    maxConcurrency?: number,
  ) {
    this.breaker = new CircuitBreaker({ ...breaker, name: 'erp' });
    this.limited = concurrencyLimit(maxConcurrency, 'erp');
  }

  async lookup(orderId: string, proof: OwnershipProof, tenant: string): Promise<OrderLookup> {
    if (!proof.email && !proof.phone) return { outcome: 'needs_proof' };
    const order = await this.fetch(orderId, tenant);
    const matchedBy = order ? proves(order, proof, this.phoneContext(tenant)) : undefined;
    return order && matchedBy ? { outcome: 'shown', order, matchedBy } : { outcome: 'denied' };
  }

  /**
   * The order itself, for a proof that does not come from the customer's words: a one-time code
   * sent to its contact, or an order already proven in this conversation. Never shown unproven.
   */
  fetch(orderId: string, tenant: string): Promise<Order | undefined> {
    return this.guarded((timeoutMs) =>
      this.erp.getOrder(orderId, {
        tenant,
        idempotencyKey: `order:${orderId}`,
        signal: AbortSignal.timeout(timeoutMs),
      }),
    );
  }

  phoneContext(tenant: string): PhoneContext {
    return { defaultRegion: this.phoneRegionOf(tenant) };
  }

  /** The verified customer's orders (newest first); nothing without proof. */
  async listMine(proof: OwnershipProof, tenant: string): Promise<Order[]> {
    if (!proof.email && !proof.phone) return [];
    const orders = await this.guarded((timeoutMs) =>
      this.erp.listOrders(
        { ...proof, phoneRegion: this.phoneRegionOf(tenant) },
        {
          tenant,
          idempotencyKey: 'orders:list',
          signal: AbortSignal.timeout(timeoutMs),
        },
      ),
    );
    // The ERP's own filter is not trusted to be exact (a REST search may match loosely).
    return orders.filter((order) => proves(order, proof, this.phoneContext(tenant)) !== undefined);
  }

  /** `call` gets its deadline: the ERP timeout, or the probe timeout when it is the half-open trial. */
  private async guarded<T>(call: (timeoutMs: number) => Promise<T>): Promise<T> {
    const permit = this.breaker.tryAcquire();
    if (!permit) {
      throw new AdapterError(
        AdapterErrorCodes.circuitOpen,
        `ERP ${this.erp.name}: circuit open after repeated failures`,
        {
          retryable: true,
          status: 503,
        },
      );
    }
    try {
      // The deadline starts once a slot is free: waiting in line is not the ERP being slow.
      const result = await this.limited(() => call(this.breaker.trialTimeoutMs(permit, this.timeoutMs)));
      this.breaker.recordSuccess();
      return result;
    } catch (error) {
      // Only failures that say the ERP is unwell count; a refused request does not.
      if (!(error instanceof HubError) || error.retryable) this.breaker.recordFailure();
      else this.breaker.release();
      throw error;
    }
  }
}

const ORDER_IDS = new RegExp(ORDER_ID_PATTERN.source, 'g');

/** Contact details typed in a message: the first e-mail address and the first phone-like number. */
export function proofFromText(text: string): OwnershipProof {
  const email = /[\w.+-]+@[\w-]+(?:\.[\w-]+)+/.exec(text)?.[0];
  // An order id's digits are not a phone number, and neither is a bank card's.
  const phone = text
    .replace(ORDER_IDS, ' ')
    .match(/\+?\d[\d ()-]{5,}\d/g)
    ?.find((candidate) => !looksLikeCard(candidate));
  return { email, phone };
}

/**
 * 15 to 19 digits without a leading + that pass the Luhn check: a card number (E.164 phone numbers
 * have at most 15 digits with their country code, and are written with the +). Taking it for a phone
 * would spend one of the customer's proof attempts on a number that cannot be theirs.
 */
function looksLikeCard(candidate: string): boolean {
  const digits = candidate.replace(/\D/g, '');
  return !candidate.startsWith('+') && digits.length >= 15 && digits.length <= 19 && luhnValid(digits);
}
