import { z } from 'zod';

/** Config of the ERP and helpdesk adapters (the `erp:` and `ticketing:` sections of hub.yaml). */

const positiveInt = z.coerce.number().int().positive();
const flag = z.union([z.boolean(), z.stringbool()]);

export const httpAuthSchema = z
  .discriminatedUnion('type', [
    z.object({ type: z.literal('none') }),
    z.object({ type: z.literal('bearer'), token: z.string().min(1) }),
    z.object({ type: z.literal('basic'), username: z.string().min(1), password: z.string() }),
    z.object({
      type: z.literal('oauth2'),
      /** OAuth2 client-credentials grant (RFC 6749 §4.4). */
      tokenUrl: z.string().url(),
      clientId: z.string().min(1),
      clientSecret: z.string().min(1),
      scope: z.string().optional(),
    }),
  ])
  .default({ type: 'none' });

/** One REST call: a URL template ({orderId}, {email}, {phone} are URL-encoded in), and where the data is. */
const restCallSchema = z.object({
  path: z.string().min(1),
  method: z.enum(['GET', 'POST']).default('GET'),
  /** JSONPath of the order object (getOrder) or of the list of orders (listOrders) in the response. */
  select: z.string().default('$'),
});

const restErpSchema = z.object({
  baseUrl: z.string().url(),
  auth: httpAuthSchema,
  getOrder: restCallSchema,
  listOrders: restCallSchema.optional(),
  /** JSONPath, relative to one order object, of each field of the hub's Order. */
  fields: z
    .object({
      id: z.string().default('$.id'),
      status: z.string().default('$.status'),
      placedAt: z.string().default('$.placedAt'),
      email: z.string().default('$.customer.email'),
      phone: z.string().default('$.customer.phone'),
      name: z.string().default('$.customer.name'),
      lines: z.string().default('$.lines[*]'),
      lineSku: z.string().default('$.sku'),
      lineName: z.string().default('$.name'),
      lineQuantity: z.string().default('$.quantity'),
      totalAmount: z.string().default('$.total.amount'),
      totalCurrency: z.string().default('$.total.currency'),
      carrier: z.string().default('$.shipment.carrier'),
      trackingNumber: z.string().default('$.shipment.trackingNumber'),
      trackingUrl: z.string().default('$.shipment.trackingUrl'),
      shipmentStatus: z.string().default('$.shipment.status'),
      estimatedDelivery: z.string().default('$.shipment.estimatedDelivery'),
      deliveredAt: z.string().default('$.deliveredAt'),
    })
    .prefault({}),
  /** The ERP's status words → the hub's (pending, confirmed, processing, shipped, delivered, cancelled, returned). */
  statusMap: z.record(z.string(), z.string()).default({}),
});

export const erpConfigSchema = z
  .object({
    driver: z.enum(['demo', 'rest']).default('demo'),
    timeoutMs: positiveInt.default(5_000),
    /** Days after delivery a return is accepted (used where the ERP does not decide it). */
    returnWindowDays: positiveInt.default(30),
    /** When the ERP fails or times out during an order question, open a ticket for a human. */
    ticketOnFailure: flag.default(false),
    demo: z.object({ file: z.string().default('adapters/erp/demo-orders.yaml') }).prefault({}),
    rest: restErpSchema.optional(),
    /** Consecutive ERP failures before order look-ups fail fast for `resetMs`. */
    breaker: z
      .object({ failureThreshold: positiveInt.default(5), resetMs: positiveInt.default(30_000) })
      .prefault({}),
    /** Wrong phone/e-mail answers before the conversation must wait. */
    maxVerificationAttempts: positiveInt.default(3),
  })
  .prefault({})
  .refine((erp) => erp.driver !== 'rest' || erp.rest !== undefined, {
    message: 'erp.driver is "rest" but erp.rest is missing; set erp.rest.baseUrl, auth, getOrder and fields',
    path: ['rest'],
  });

export const ticketingConfigSchema = z
  .object({
    driver: z.enum(['demo', 'zendesk', 'rt']).default('demo'),
    timeoutMs: positiveInt.default(10_000),
    outbox: z
      .object({
        /** How often the delivery worker looks for due tickets. */
        pollMs: positiveInt.default(1_000),
        /** Attempts before a ticket goes to the dead-letter list (`hub tickets dlq`). */
        maxAttempts: positiveInt.default(8),
        backoffMs: positiveInt.default(2_000),
        maxBackoffMs: positiveInt.default(300_000),
        /** A claimed delivery whose worker died is taken over after this. */
        leaseMs: positiveInt.default(60_000),
      })
      .prefault({}),
    breaker: z
      .object({ failureThreshold: positiveInt.default(5), resetMs: positiveInt.default(30_000) })
      .prefault({}),
    zendesk: z
      .object({
        /** https://<subdomain>.zendesk.com */
        baseUrl: z.string().url(),
        /** API token auth: `{email}/token:{apiToken}`. */
        email: z.string().min(1),
        apiToken: z.string().min(1),
      })
      .optional(),
    rt: z
      .object({
        /** RT's web root, e.g. http://127.0.0.1:8080 (REST2 lives under /REST/2.0/). */
        baseUrl: z.string().url(),
        /** An RT auth token (Authorization: token ...), or user + password (basic auth). */
        token: z.string().optional(),
        username: z.string().optional(),
        password: z.string().optional(),
        queue: z.string().default('General'),
      })
      .optional()
      .refine((rt) => !rt || Boolean(rt.token) || Boolean(rt.username), {
        message: 'ticketing.rt needs token, or username and password',
      }),
  })
  .prefault({})
  .refine((t) => t.driver !== 'zendesk' || t.zendesk !== undefined, {
    message: 'ticketing.driver is "zendesk" but ticketing.zendesk is missing; set baseUrl, email, apiToken',
    path: ['zendesk'],
  })
  .refine((t) => t.driver !== 'rt' || t.rt !== undefined, {
    message:
      'ticketing.driver is "rt" but ticketing.rt is missing; set baseUrl and token (or username/password)',
    path: ['rt'],
  });

export type ErpConfig = z.infer<typeof erpConfigSchema>;
export type RestErpConfig = z.infer<typeof restErpSchema>;
export type TicketingConfig = z.infer<typeof ticketingConfigSchema>;
export type HttpAuthConfig = z.infer<typeof httpAuthSchema>;
