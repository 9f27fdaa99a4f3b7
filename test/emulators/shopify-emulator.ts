import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildSchema, type GraphQLError, graphql } from 'graphql';

/**
 * A local Shopify Admin GraphQL API: POST /admin/api/<version>/graphql.json with the
 * X-Shopify-Access-Token header, executed by graphql-js against a subset of the Admin schema (so a
 * misspelt field fails here as it would at Shopify). Orders and customers are searched with the
 * `query` argument (terms name:, tag:, email:, customer_id: joined by OR; customers: phone:), and
 * `shop { name myshopifyDomain }`, which needs no access scope.
 * Cost-based throttling: a leaky bucket (maximumAvailable, restoreRate per second); a query costing
 * more than is available answers HTTP 200 with errors[].extensions.code THROTTLED and
 * extensions.cost.throttleStatus. Errors: 401 for a wrong token ({"errors": "[API] Invalid API key
 * ..."}), ACCESS_DENIED for customers without the read_customers scope, injected HTTP 429 with
 * Retry-After, 5xx, or no answer.
 */
const SDL = `
  scalar DateTime
  scalar Decimal
  scalar URL
  enum CurrencyCode { EUR USD GBP }
  enum OrderSortKeys { CREATED_AT PROCESSED_AT ID }
  enum OrderDisplayFinancialStatus { AUTHORIZED EXPIRED PAID PARTIALLY_PAID PARTIALLY_REFUNDED PENDING REFUNDED VOIDED }
  enum OrderDisplayFulfillmentStatus { FULFILLED IN_PROGRESS ON_HOLD OPEN PARTIALLY_FULFILLED PENDING_FULFILLMENT REQUEST_DECLINED RESTOCKED SCHEDULED UNFULFILLED }
  enum OrderReturnStatus { INSPECTION_COMPLETE IN_PROGRESS NO_RETURN RETURNED RETURN_FAILED RETURN_REQUESTED }
  enum FulfillmentStatus { CANCELLED ERROR FAILURE SUCCESS OPEN PENDING }
  enum FulfillmentDisplayStatus { ATTEMPTED_DELIVERY CANCELED CONFIRMED DELIVERED FAILURE FULFILLED IN_TRANSIT LABEL_PRINTED LABEL_PURCHASED OUT_FOR_DELIVERY READY_FOR_PICKUP SUBMITTED }
  type Query {
    orders(first: Int, after: String, query: String, sortKey: OrderSortKeys, reverse: Boolean): OrderConnection!
    customers(first: Int, after: String, query: String): CustomerConnection!
    shop: Shop!
  }
  type Shop { name: String! myshopifyDomain: String! }
  type OrderConnection { nodes: [Order!]! }
  type CustomerConnection { nodes: [Customer!]! }
  type Customer { id: ID! displayName: String! email: String phone: String }
  type MoneyV2 { amount: Decimal! currencyCode: CurrencyCode! }
  type MoneyBag { shopMoney: MoneyV2! presentmentMoney: MoneyV2! }
  type LineItem { sku: String name: String! quantity: Int! }
  type LineItemConnection { nodes: [LineItem!]! }
  type FulfillmentTrackingInfo { company: String number: String url: URL }
  type Fulfillment {
    status: FulfillmentStatus!
    createdAt: DateTime!
    deliveredAt: DateTime
    estimatedDeliveryAt: DateTime
    displayStatus: FulfillmentDisplayStatus
    trackingInfo(first: Int): [FulfillmentTrackingInfo!]!
  }
  type Order {
    id: ID!
    name: String!
    email: String
    phone: String
    createdAt: DateTime!
    cancelledAt: DateTime
    tags: [String!]!
    displayFinancialStatus: OrderDisplayFinancialStatus
    displayFulfillmentStatus: OrderDisplayFulfillmentStatus!
    returnStatus: OrderReturnStatus!
    customer: Customer
    totalPriceSet: MoneyBag!
    lineItems(first: Int, after: String): LineItemConnection!
    fulfillments(first: Int): [Fulfillment!]!
  }
`;
const schema = buildSchema(SDL);

const money = (amount: string, currencyCode: string) => ({
  shopMoney: { amount, currencyCode },
  presentmentMoney: { amount, currencyCode },
});
const alex = {
  id: 'gid://shopify/Customer/7',
  displayName: 'Alex Demo',
  email: 'Alex@Example.com',
  phone: '+15550100',
};
const sam = {
  id: 'gid://shopify/Customer/8',
  displayName: 'Sam Sample',
  email: 'sam@example.org',
  phone: '+447946000000',
};
const keyboard = { sku: 'KB-01', name: 'Mechanical keyboard', quantity: 1 };
const base = {
  cancelledAt: null,
  tags: [] as string[],
  displayFinancialStatus: 'PAID',
  displayFulfillmentStatus: 'UNFULFILLED',
  returnStatus: 'NO_RETURN',
  lineItems: { nodes: [keyboard] },
  fulfillments: [] as unknown[],
};

export const SHOPIFY_ORDERS = [
  {
    ...base,
    id: 'gid://shopify/Order/5001',
    name: '#1001',
    email: alex.email,
    phone: alex.phone,
    customer: alex,
    createdAt: '2026-10-28T09:14:00Z',
    tags: ['XX12345678', 'vip'],
    displayFulfillmentStatus: 'FULFILLED',
    totalPriceSet: money('89.50', 'EUR'),
    lineItems: { nodes: [keyboard, { sku: null, name: 'Gift wrap', quantity: 2 }] },
    fulfillments: [
      {
        status: 'SUCCESS',
        createdAt: '2026-10-29T15:30:00Z',
        deliveredAt: null,
        estimatedDeliveryAt: '2026-11-03T00:00:00Z',
        displayStatus: 'IN_TRANSIT',
        trackingInfo: [
          {
            company: 'DHL Express',
            number: 'JD014600003828',
            url: 'https://www.dhl.com/track?AWB=JD014600003828',
          },
        ],
      },
    ],
  },
  {
    ...base,
    id: 'gid://shopify/Order/5010',
    name: '#10010',
    email: alex.email,
    phone: null,
    customer: alex,
    createdAt: '2026-11-02T10:00:00Z',
    totalPriceSet: money('15.00', 'EUR'),
  },
  {
    ...base,
    id: 'gid://shopify/Order/5002',
    name: '#1002',
    email: sam.email,
    phone: sam.phone,
    customer: sam,
    createdAt: '2026-09-01T08:00:00Z',
    cancelledAt: '2026-09-01T09:00:00Z',
    displayFinancialStatus: 'VOIDED',
    totalPriceSet: money('20.00', 'GBP'),
  },
  {
    ...base,
    id: 'gid://shopify/Order/5003',
    name: '#1003',
    email: sam.email,
    phone: sam.phone,
    customer: sam,
    createdAt: '2026-08-01T12:00:00Z',
    displayFulfillmentStatus: 'FULFILLED',
    totalPriceSet: money('15.00', 'GBP'),
    fulfillments: [
      {
        status: 'SUCCESS',
        createdAt: '2026-08-02T12:00:00Z',
        deliveredAt: '2026-08-04T09:00:00Z',
        estimatedDeliveryAt: null,
        displayStatus: 'DELIVERED',
        trackingInfo: [],
      },
    ],
  },
  {
    ...base,
    id: 'gid://shopify/Order/5004',
    name: '#1004',
    email: sam.email,
    phone: sam.phone,
    customer: sam,
    createdAt: '2026-08-05T12:00:00Z',
    displayFinancialStatus: 'PENDING',
    totalPriceSet: money('15.00', 'GBP'),
  },
];

export interface ShopifyEmulatorOptions {
  accessToken: string;
  /** Granted access scopes; without read_customers the customers query is denied. */
  scopes?: string[];
  /** Leaky bucket: points available at most, and points restored per second. */
  maximumAvailable?: number;
  restoreRate?: number;
}

type Failure = { status?: number; retryAfter?: number; hang?: boolean; times: number };

export interface ShopifyEmulator {
  url: string;
  requests: Array<{ path: string; query: string; variables: Record<string, unknown>; throttled: boolean }>;
  fail(failure: Omit<Failure, 'times'> & { times?: number }): void;
  /** Drain the bucket to `points` now (it refills at restoreRate). */
  drain(points: number): void;
  close(): Promise<void>;
}

export async function startShopifyEmulator(options: ShopifyEmulatorOptions): Promise<ShopifyEmulator> {
  const maximumAvailable = options.maximumAvailable ?? 1000;
  const restoreRate = options.restoreRate ?? 50;
  const scopes = options.scopes ?? ['read_orders', 'read_customers'];
  const bucket = { points: maximumAvailable, at: Date.now() };
  const available = () =>
    Math.min(maximumAvailable, bucket.points + ((Date.now() - bucket.at) / 1000) * restoreRate);
  const failures: Failure[] = [];
  const requests: ShopifyEmulator['requests'] = [];
  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) =>
    res
      .writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers })
      .end(JSON.stringify(body));

  const rootValue = {
    orders: (args: { first?: number; query?: string; reverse?: boolean; sortKey?: string }) => {
      let found = SHOPIFY_ORDERS.filter(searchMatches(args.query));
      if (args.sortKey === 'CREATED_AT')
        found = [...found].sort((a, b) => a.createdAt.localeCompare(b.createdAt));
      if (args.reverse) found = [...found].reverse();
      return { nodes: found.slice(0, args.first ?? 50) };
    },
    shop: () => ({ name: 'Hub Demo Shop', myshopifyDomain: 'hub-demo.myshopify.com' }),
    customers: (args: { first?: number; query?: string }) => {
      if (!scopes.includes('read_customers')) {
        throw new Error('Access denied for customers field. Required access: `read_customers` access scope.');
      }
      const phone = /^phone:"?([^"]*)"?$/.exec(args.query ?? '')?.[1];
      return { nodes: [alex, sam].filter((c) => c.phone === phone).slice(0, args.first ?? 50) };
    },
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    let raw = '';
    for await (const chunk of req) raw += chunk;
    const url = new URL(req.url ?? '/', 'http://shop');
    if (req.method !== 'POST' || !/^\/admin\/api\/\d{4}-\d{2}\/graphql\.json$/.test(url.pathname))
      return send(res, 404, { errors: 'Not Found' });
    const failure = failures[0];
    if (failure) {
      failure.times -= 1;
      if (failure.times <= 0) failures.shift();
      if (failure.hang) return;
      const headers: Record<string, string> =
        failure.retryAfter !== undefined ? { 'retry-after': String(failure.retryAfter) } : {};
      return send(res, failure.status ?? 503, { errors: 'injected failure' }, headers);
    }
    if (req.headers['x-shopify-access-token'] !== options.accessToken)
      return send(res, 401, {
        errors: '[API] Invalid API key or access token (unrecognized login or wrong password)',
      });
    const { query, variables = {} } = JSON.parse(raw) as {
      query: string;
      variables?: Record<string, unknown>;
    };
    const requestedQueryCost = costOf(query, variables);
    const throttleStatus = () => ({
      maximumAvailable,
      currentlyAvailable: Math.floor(available()),
      restoreRate,
    });
    const throttled = requestedQueryCost > available();
    requests.push({ path: url.pathname, query, variables, throttled });
    if (throttled) {
      return send(res, 200, {
        errors: [
          {
            message: 'Throttled',
            extensions: { code: 'THROTTLED', documentation: 'https://shopify.dev/api/usage/rate-limits' },
          },
        ],
        extensions: { cost: { requestedQueryCost, actualQueryCost: null, throttleStatus: throttleStatus() } },
      });
    }
    bucket.points = available() - requestedQueryCost;
    bucket.at = Date.now();
    const result = await graphql({ schema, source: query, rootValue, variableValues: variables });
    const errors = result.errors?.map((error: GraphQLError) => ({
      message: error.message,
      locations: error.locations,
      path: error.path,
      extensions: {
        code: error.message.startsWith('Access denied')
          ? 'ACCESS_DENIED'
          : error.path
            ? 'INTERNAL_SERVER_ERROR'
            : 'undefinedField',
      },
    }));
    return send(res, 200, {
      ...(errors ? { errors } : {}),
      data: result.data ?? null,
      extensions: {
        cost: { requestedQueryCost, actualQueryCost: requestedQueryCost, throttleStatus: throttleStatus() },
      },
    });
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error) => send(res, 500, { errors: String(error) }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    fail: (failure) => failures.push({ times: 1, ...failure }),
    drain: (points) => {
      bucket.points = points;
      bucket.at = Date.now();
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A rough requested cost: connections cost their `first`, as Shopify's estimate does. */
function costOf(query: string, variables: Record<string, unknown>): number {
  const first = Number(variables.first ?? 10);
  return query.includes('orders(') ? 2 + first * 2 : 1 + first;
}

/** Search terms joined by OR: name: (a loose match, as Shopify's), tag:, email:, customer_id:. */
function searchMatches(query: string | undefined): (order: (typeof SHOPIFY_ORDERS)[number]) => boolean {
  if (!query) return () => true;
  const terms = query.split(' OR ').map((term) => {
    const match = /^(\w+):(?:"((?:[^"\\]|\\.)*)"|(\S+))$/.exec(term.trim());
    if (!match) throw new Error(`search term not emulated: ${term}`);
    return { field: match[1], value: (match[2] ?? match[3] ?? '').replace(/\\(.)/g, '$1') };
  });
  return (order) =>
    terms.some(({ field, value }) => {
      if (field === 'name') return order.name.includes(value.replace(/^#/, ''));
      if (field === 'tag') return order.tags.some((t) => t.toLowerCase() === value.toLowerCase());
      if (field === 'email') return order.email?.toLowerCase() === value.toLowerCase();
      if (field === 'customer_id') return order.customer.id.endsWith(`/${value}`);
      throw new Error(`search field not emulated: ${field}`);
    });
}
