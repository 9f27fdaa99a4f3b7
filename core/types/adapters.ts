import type { ConversationRef } from './conversation';
import { HubError } from './errors';

/**
 * Contracts of the back-office adapters (ERP, helpdesk). Dependency-free like the rest of
 * core/types: the dialog flows call these, the implementations live in adapters/*.
 */

/** Passed to every adapter call. */
export interface AdapterCallContext {
  tenant: string;
  /**
   * Stable across retries of the same logical operation: an adapter that writes uses it to make a
   * retry a no-op (the helpdesk's external id, an Idempotency-Key header, a look-up before create).
   */
  idempotencyKey: string;
  /** Aborts the call when the caller's deadline passes. Adapters pass it to every request they make. */
  signal?: AbortSignal;
}

/** A context whose signal fires after `timeoutMs`. */
export function callContext(tenant: string, idempotencyKey: string, timeoutMs: number): AdapterCallContext {
  return { tenant, idempotencyKey, signal: AbortSignal.timeout(timeoutMs) };
}

/* ---------- ERP ---------- */

export type OrderStatus =
  | 'pending'
  | 'confirmed'
  | 'processing'
  | 'shipped'
  | 'delivered'
  | 'cancelled'
  | 'returned';

export interface OrderLine {
  sku: string;
  name: string;
  quantity: number;
}

export interface Shipment {
  carrier?: string;
  trackingNumber?: string;
  trackingUrl?: string;
  status?: string;
  shippedAt?: string;
  estimatedDelivery?: string;
}

export interface Order {
  /** The id a customer quotes, e.g. "XX12345678". */
  id: string;
  status: OrderStatus;
  placedAt: string;
  /** Who may see it: the ownership check compares these with the verified identity. */
  customer: { email?: string; phone?: string; name?: string };
  lines: OrderLine[];
  total?: { amount: number; currency: string };
  shipment?: Shipment;
  deliveredAt?: string;
}

export interface ReturnEligibility {
  eligible: boolean;
  /** Machine-readable reason, e.g. "not_delivered", "window_closed", "eligible". */
  reason: string;
  /** Last day a return is accepted, when eligible. */
  until?: string;
}

export interface CustomerLookup {
  email?: string;
  phone?: string;
  /** Region (ISO 3166 alpha-2) of phone numbers stored or typed without a country code (proof.phone). */
  phoneRegion?: string;
}

export interface ErpAdapter {
  readonly name: string;
  /** Undefined when the ERP has no such order (not an error). */
  getOrder(orderId: string, ctx: AdapterCallContext): Promise<Order | undefined>;
  listOrders(customer: CustomerLookup, ctx: AdapterCallContext): Promise<Order[]>;
  getShipment(orderId: string, ctx: AdapterCallContext): Promise<Shipment | undefined>;
  returnEligibility(orderId: string, ctx: AdapterCallContext): Promise<ReturnEligibility>;
  close?(): Promise<void>;
}

/** Order ids customers quote: two capital letters and eight digits. */
export const ORDER_ID_PATTERN = /\b[A-Z]{2}\d{8}\b/;

/* ---------- ticketing ---------- */

export type TicketPriority = 'low' | 'normal' | 'high' | 'urgent';
export type TicketStatus = 'new' | 'open' | 'pending' | 'solved' | 'closed';

export interface TicketTranscriptLine {
  role: 'customer' | 'bot' | 'agent';
  text: string;
  at: string;
}

/** What the hub hands a helpdesk: everything an agent needs without opening the hub. */
export interface TicketDraft {
  subject: string;
  /** Written from the conversation: what the customer wants, in a few lines. */
  summary: string;
  transcript: TicketTranscriptLine[];
  intent?: string;
  slots: Record<string, unknown>;
  entities: Record<string, string[]>;
  customer: {
    channel: string;
    tenant: string;
    userId: string;
    name?: string;
    email?: string;
    phone?: string;
  };
  conversation: ConversationRef;
  /** The hub's conversation key: the link back to the conversation. */
  conversationKey: string;
  /** Absolute URL of the conversation in the hub, when the hub knows its public URL. */
  conversationUrl?: string;
  priority: TicketPriority;
  category: string;
  tags: string[];
  locale?: string;
}

export interface TicketRef {
  /** The helpdesk's own id (Zendesk ticket id, RT ticket number, demo id). */
  externalId: string;
  /** Link an agent or the customer can follow, when the helpdesk has one. */
  url?: string;
}

export interface TicketComment {
  author: 'customer' | 'bot' | 'agent';
  text: string;
  /** False for an internal note. */
  public: boolean;
  at?: string;
}

export interface Ticket extends TicketRef {
  subject: string;
  status: TicketStatus;
  priority?: TicketPriority;
  tags: string[];
  comments: TicketComment[];
}

export interface TicketingAdapter {
  readonly name: string;
  /**
   * Create the ticket once per `ctx.idempotencyKey`: a repeated call with the same key returns the
   * ticket the first call created.
   */
  createTicket(draft: TicketDraft, ctx: AdapterCallContext): Promise<TicketRef>;
  addComment(externalId: string, comment: TicketComment, ctx: AdapterCallContext): Promise<void>;
  getTicket(externalId: string, ctx: AdapterCallContext): Promise<Ticket | undefined>;
  setStatus(externalId: string, status: TicketStatus, ctx: AdapterCallContext): Promise<void>;
  close?(): Promise<void>;
}

/** Error codes adapters raise (as HubError codes); `retryable` tells the outbox whether to try again. */
export const AdapterErrorCodes = {
  auth: 'adapter.auth', // 401/403: wrong credentials, not retryable
  notFound: 'adapter.not_found', // 404 on a write
  conflict: 'adapter.conflict', // 409: retryable (Zendesk: concurrent update)
  invalid: 'adapter.invalid', // 422/400: the payload is wrong, not retryable
  rateLimited: 'adapter.rate_limited', // 429: retryable after Retry-After
  unavailable: 'adapter.unavailable', // 5xx / network: retryable
  timeout: 'adapter.timeout', // deadline passed: retryable
  circuitOpen: 'adapter.circuit_open', // failing fast: retryable later
} as const;

/** A HubError from an adapter call; `retryAfterMs` carries the server's Retry-After when it sent one. */
export class AdapterError extends HubError {
  readonly retryAfterMs?: number;

  constructor(
    code: string,
    message: string,
    options: { cause?: unknown; retryable?: boolean; status?: number; retryAfterMs?: number } = {},
  ) {
    super(code, message, options);
    this.name = 'AdapterError';
    this.retryAfterMs = options.retryAfterMs;
  }
}
