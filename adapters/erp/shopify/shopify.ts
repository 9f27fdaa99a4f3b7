import { normalizePhone } from '../../../core/orders/identity';
import {
  type AdapterCallContext,
  AdapterError,
  AdapterErrorCodes,
  type CustomerLookup,
  type Order,
  type OrderStatus,
  type Shipment,
} from '../../../core/types';
import { requestJson } from '../../http';
import type { ErpSettings } from '../descriptor';
import { toHubOrderId, toSystemOrderId } from '../order-ids';
import { OrderBasedErp } from '../orders';
import { retryRateLimited } from '../retry';
import type { ShopifyErpConfig } from './options';

/*
 * Shopify Admin GraphQL API (shopify.dev/docs/api/admin-graphql):
 *   POST https://<shop>.myshopify.com/admin/api/<version>/graphql.json, header X-Shopify-Access-Token,
 *   body {"query", "variables"} → {"data": {...}, "extensions": {"cost": {requestedQueryCost,
 *   actualQueryCost, throttleStatus: {maximumAvailable, currentlyAvailable, restoreRate}}}}.
 * Throttling is by query cost: an over-budget query answers HTTP 200 with {"errors": [{"message":
 * "Throttled", "extensions": {"code": "THROTTLED"}}], "extensions": {"cost": ...}} and the wait is
 * (requestedQueryCost − currentlyAvailable) / restoreRate seconds; HTTP 429 carries Retry-After.
 * A bad token is HTTP 401 {"errors": "[API] Invalid API key or access token ..."}; a missing scope
 * or protected-customer-data approval is an error with extensions.code ACCESS_DENIED.
 * Orders are searched with the `query` argument (search syntax: name:, tag:, email:, customer_id:);
 * there is no phone filter on orders, so a phone finds customers first (customers query `phone:`).
 *
 * Mapped: name (or a tag) → id, cancelledAt, returnStatus, displayFulfillmentStatus and
 * displayFinancialStatus → status, email/phone (the order's contact) → customer, lineItems,
 * totalPriceSet.shopMoney, the latest fulfillment's trackingInfo, displayStatus, createdAt,
 * estimatedDeliveryAt and deliveredAt. Not mapped: partial refunds, draft orders, more than 50 lines.
 */

interface ShopifyOrder {
  id: string;
  name: string;
  email?: string | null;
  phone?: string | null;
  createdAt: string;
  cancelledAt?: string | null;
  tags?: string[];
  displayFinancialStatus?: string | null;
  displayFulfillmentStatus?: string;
  returnStatus?: string;
  customer?: { displayName?: string | null } | null;
  totalPriceSet?: { shopMoney?: { amount: string; currencyCode: string } };
  lineItems?: { nodes?: Array<{ sku?: string | null; name: string; quantity: number }> };
  fulfillments?: Array<{
    status?: string;
    createdAt?: string;
    deliveredAt?: string | null;
    estimatedDeliveryAt?: string | null;
    displayStatus?: string | null;
    trackingInfo?: Array<{ company?: string | null; number?: string | null; url?: string | null }>;
  }>;
}

interface GraphQlResponse<T> {
  data?: T | null;
  errors?: Array<{ message?: string; extensions?: { code?: string } }> | string;
  extensions?: {
    cost?: {
      requestedQueryCost?: number;
      throttleStatus?: { currentlyAvailable?: number; restoreRate?: number };
    };
  };
}

const ORDER_FIELDS = `id name email phone createdAt cancelledAt tags
  displayFinancialStatus displayFulfillmentStatus returnStatus
  customer { displayName }
  totalPriceSet { shopMoney { amount currencyCode } }
  lineItems(first: 50) { nodes { sku name quantity } }
  fulfillments(first: 10) {
    status createdAt deliveredAt estimatedDeliveryAt displayStatus
    trackingInfo(first: 1) { company number url }
  }`;

const ORDERS_QUERY = `query HubOrders($query: String!, $first: Int!) {
  orders(first: $first, query: $query, sortKey: CREATED_AT, reverse: true) { nodes { ${ORDER_FIELDS} } }
}`;

const CUSTOMERS_QUERY = `query HubCustomers($query: String!) {
  customers(first: 10, query: $query) { nodes { id } }
}`;

const HUB_ORDER_ID = /^[A-Z]{2}\d{8}$/;

export class ShopifyErp extends OrderBasedErp {
  readonly name = 'shopify';
  private readonly endpoint: string;

  constructor(
    private readonly config: ShopifyErpConfig,
    private readonly erp: ErpSettings,
    now: () => number = Date.now,
  ) {
    super(erp.returnWindowDays, now);
    this.endpoint = `${config.shopUrl.replace(/\/+$/, '')}/admin/api/${config.apiVersion}/graphql.json`;
  }

  async getOrder(orderId: string, ctx: AdapterCallContext): Promise<Order | undefined> {
    const value = toSystemOrderId(orderId, this.config.orderId);
    if (!value) return undefined;
    const byTag = this.config.orderId.field === 'tag';
    const nodes = await this.orders(`${byTag ? 'tag' : 'name'}:${quoted(value)}`, 5, ctx);
    // The search matches loosely (name:1001 also finds #1001): keep only the exact one.
    const exact = nodes.find((o) => (byTag ? (o.tags ?? []).includes(value) : o.name === value));
    return exact && this.toOrder(exact);
  }

  async listOrders(customer: CustomerLookup, ctx: AdapterCallContext): Promise<Order[]> {
    const terms: string[] = [];
    if (customer.email?.trim()) terms.push(`email:${quoted(customer.email.trim())}`);
    const phone = e164ish(customer.phone);
    if (phone) {
      const { customers } = await this.graphql<{ customers: { nodes: Array<{ id: string }> } }>(
        CUSTOMERS_QUERY,
        { query: `phone:${quoted(phone)}` },
        ctx,
      );
      for (const { id } of customers.nodes) terms.push(`customer_id:${id.split('/').at(-1)}`);
    }
    if (terms.length === 0) return [];
    return (await this.orders(terms.join(' OR '), 50, ctx)).map((o) => this.toOrder(o));
  }

  private async orders(query: string, first: number, ctx: AdapterCallContext): Promise<ShopifyOrder[]> {
    const data = await this.graphql<{ orders: { nodes: ShopifyOrder[] } }>(
      ORDERS_QUERY,
      { query, first },
      ctx,
    );
    return data.orders.nodes;
  }

  private toOrder(raw: ShopifyOrder): Order {
    const fulfillments = (raw.fulfillments ?? []).filter((f) => f.status !== 'CANCELLED');
    const latest = fulfillments.at(-1);
    const tracking = latest?.trackingInfo?.[0];
    const shipment: Shipment | undefined = latest && {
      carrier: tracking?.company ?? undefined,
      trackingNumber: tracking?.number ?? undefined,
      trackingUrl: tracking?.url ?? undefined,
      status: latest.displayStatus ?? latest.status,
      shippedAt: latest.createdAt,
      estimatedDelivery: latest.estimatedDeliveryAt ?? undefined,
    };
    const delivered =
      raw.displayFulfillmentStatus === 'FULFILLED' &&
      fulfillments.length > 0 &&
      fulfillments.every((f) => f.deliveredAt);
    const money = raw.totalPriceSet?.shopMoney;
    return {
      id: this.hubIdOf(raw),
      status: statusOf(raw, delivered),
      placedAt: raw.createdAt,
      customer: {
        email: raw.email ?? undefined,
        phone: raw.phone ?? undefined,
        name: raw.customer?.displayName ?? undefined,
      },
      lines: (raw.lineItems?.nodes ?? []).map((l) => ({
        sku: l.sku ?? '',
        name: l.name,
        quantity: l.quantity,
      })),
      total: money ? { amount: Number(money.amount), currency: money.currencyCode } : undefined,
      shipment,
      deliveredAt: delivered
        ? fulfillments
            .map((f) => f.deliveredAt ?? '')
            .sort()
            .at(-1)
        : undefined,
    };
  }

  private hubIdOf(raw: ShopifyOrder): string {
    if (this.config.orderId.field === 'tag') {
      const tagged = (raw.tags ?? [])
        .map((t) => toHubOrderId(t, this.config.orderId))
        .find((t) => HUB_ORDER_ID.test(t));
      if (tagged) return tagged;
    }
    return toHubOrderId(raw.name, this.config.orderId);
  }

  /** The shop the access token belongs to: `{ shop { name } }` needs no access scope. */
  async shopName(ctx: AdapterCallContext): Promise<string> {
    const data = await this.graphql<{ shop: { name: string } }>('{ shop { name } }', {}, ctx);
    return data.shop.name;
  }

  private graphql<T>(query: string, variables: Record<string, unknown>, ctx: AdapterCallContext): Promise<T> {
    return retryRateLimited(
      'Shopify',
      async () => {
        const { body } = await requestJson<GraphQlResponse<T>>('Shopify', this.endpoint, {
          method: 'POST',
          headers: { 'x-shopify-access-token': this.config.accessToken },
          body: { query, variables },
          signal: ctx.signal,
          timeoutMs: this.erp.timeoutMs,
        });
        if (body?.errors?.length) throw graphQlError(body);
        if (!body?.data) {
          throw new AdapterError(AdapterErrorCodes.unavailable, 'Shopify answered without data', {
            retryable: true,
            status: 502,
          });
        }
        return body.data;
      },
      this.config.rateLimit,
      ctx.signal,
    );
  }
}

/**
 * Cancelled and returned first; then fulfilment: all delivered → delivered, (partly) fulfilled →
 * shipped, being worked on → processing; unfulfilled: payment pending → pending, else confirmed.
 */
function statusOf(raw: ShopifyOrder, delivered: boolean): OrderStatus {
  if (raw.cancelledAt) return 'cancelled';
  if (raw.returnStatus === 'RETURNED' || raw.displayFulfillmentStatus === 'RESTOCKED') return 'returned';
  if (delivered) return 'delivered';
  switch (raw.displayFulfillmentStatus) {
    case 'FULFILLED':
    case 'PARTIALLY_FULFILLED':
      return 'shipped';
    case 'IN_PROGRESS':
    case 'PENDING_FULFILLMENT':
    case 'SCHEDULED':
    case 'ON_HOLD':
      return 'processing';
    default:
      return raw.displayFinancialStatus === 'PENDING' || raw.displayFinancialStatus === 'EXPIRED'
        ? 'pending'
        : 'confirmed';
  }
}

function graphQlError(body: GraphQlResponse<unknown>): AdapterError {
  const errors = typeof body.errors === 'string' ? [{ message: body.errors }] : (body.errors ?? []);
  const code = errors.find((e) => e.extensions?.code)?.extensions?.code;
  const message = errors
    .map((e) => e.message)
    .join('; ')
    .slice(0, 200);
  if (code === 'THROTTLED') {
    const cost = body.extensions?.cost;
    const missing = (cost?.requestedQueryCost ?? 0) - (cost?.throttleStatus?.currentlyAvailable ?? 0);
    const rate = cost?.throttleStatus?.restoreRate ?? 0;
    const retryAfterMs = rate > 0 ? Math.max(0, Math.ceil((missing / rate) * 1000)) : 1000;
    return new AdapterError(AdapterErrorCodes.rateLimited, `Shopify throttled the query: ${message}`, {
      status: 429,
      retryable: true,
      retryAfterMs,
    });
  }
  if (code === 'ACCESS_DENIED') {
    return new AdapterError(
      AdapterErrorCodes.auth,
      `Shopify denied access: ${message}. Fix: give the app the read_orders and read_customers scopes (and protected customer data access for e-mail and phone)`,
      { status: 403 },
    );
  }
  if (code === 'INTERNAL_SERVER_ERROR') {
    return new AdapterError(AdapterErrorCodes.unavailable, `Shopify failed: ${message}`, {
      status: 502,
      retryable: true,
    });
  }
  return new AdapterError(
    AdapterErrorCodes.invalid,
    `Shopify refused the query${code ? ` (${code})` : ''}: ${message}. Fix: check erp.shopify.apiVersion`,
    { status: 422 },
  );
}

/** A search value in double quotes, so "#", ":" and spaces stay part of it. */
function quoted(value: string): string {
  return `"${value.replace(/["\\]/g, '\\$&')}"`;
}

/** Shopify keeps phones in E.164: "+1 (555) 0100" → "+15550100"; without a "+" the digits as typed. */
function e164ish(phone: string | undefined): string | undefined {
  const digits = normalizePhone(phone);
  if (!digits) return undefined;
  return phone?.trim().startsWith('+') ? `+${digits}` : digits;
}
