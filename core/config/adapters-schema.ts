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

/** How the ids customers quote map to the ERP's own (adapters/erp/order-ids.ts). */
const orderIdSchema = <F extends [string, ...string[]]>(fields: F, defaultField: F[number]) =>
  z
    .object({
      /** The ERP field that holds the customer-quoted id (or its number). */
      field: z.enum(fields).default(defaultField),
      /** Two capital letters: the hub id is this plus the ERP's order number in eight digits. */
      hubPrefix: z
        .string()
        .regex(/^[A-Z]{2}$/, 'hubPrefix is two capital letters, e.g. SO')
        .optional(),
      /** Written before the number in the ERP ("#" for Shopify names, "S" for Odoo's S00042). */
      systemPrefix: z.string().default(''),
      /** The ERP pads its number to this many digits (Odoo: 5). */
      systemDigits: z.coerce.number().int().min(0).max(10).default(0),
    })
    .prefault({});

/** 429 and throttle answers: waits up to `maxWaitMs` are sat out, `attempts` tries in all. */
const rateLimitSchema = z
  .object({ attempts: positiveInt.default(3), maxWaitMs: positiveInt.default(10_000) })
  .prefault({});

/** Odoo External RPC API (JSON-RPC at /jsonrpc), sale.order and stock.picking. */
const odooErpSchema = z.object({
  baseUrl: z.string().url(),
  db: z.string().min(1),
  login: z.string().min(1),
  /** An API key (Preferences → Account Security → New API Key) or the user's password. */
  apiKey: z.string().min(1),
  orderId: orderIdSchema(['name', 'client_order_ref'], 'name'),
  /** res.partner fields holding phone numbers (add `mobile` on Odoo 17 and older). */
  partnerPhoneFields: z.array(z.string().min(1)).min(1).default(['phone']),
  /** Read carrier_id / carrier_tracking_ref / carrier_tracking_url (the Delivery module); false without it. */
  tracking: flag.default(true),
  /** Odoo knows when a delivery was validated, not when it arrived: true reports a done delivery as delivered. */
  doneMeansDelivered: flag.default(false),
  rateLimit: rateLimitSchema,
});

/** SAP S/4HANA OData v2: API_SALES_ORDER_SRV, customer contacts from API_BUSINESS_PARTNER. */
const sapErpSchema = z.object({
  /** The host, e.g. https://my123456-api.s4hana.ondemand.com; services live under `servicePath`. */
  baseUrl: z.string().url(),
  servicePath: z.string().default('/sap/opu/odata/sap'),
  /** basic (communication user) or oauth2 client credentials. */
  auth: httpAuthSchema,
  /** The `sap-client` query parameter, when the system needs one. */
  client: z.string().optional(),
  orderId: orderIdSchema(['SalesOrder', 'PurchaseOrderByCustomer'], 'SalesOrder'),
  /** businessPartner: e-mail and phone of the SoldToParty from API_BUSINESS_PARTNER; none: no contact data. */
  contacts: z.enum(['businessPartner', 'none']).default('businessPartner'),
  /** Overrides of the status map, keyed "<OverallSDProcessStatus>/<OverallDeliveryStatus>" (e.g. "C/C": shipped). */
  statusMap: z.record(z.string(), z.string()).default({}),
  rateLimit: rateLimitSchema,
});

/** Shopify Admin GraphQL API with a custom app's Admin API access token. */
const shopifyErpSchema = z.object({
  /** https://<shop>.myshopify.com */
  shopUrl: z.string().url(),
  accessToken: z.string().min(1),
  apiVersion: z
    .string()
    .regex(/^\d{4}-\d{2}$/, 'apiVersion looks like 2025-10')
    .default('2025-10'),
  /** name: the order name ("#1001", or the hub id when the shop's order names are set so); tag: a tag on the order. */
  orderId: orderIdSchema(['name', 'tag'], 'name'),
  rateLimit: rateLimitSchema,
});

export const erpConfigSchema = z
  .object({
    driver: z.enum(['demo', 'rest', 'odoo', 'sap', 'shopify']).default('demo'),
    timeoutMs: positiveInt.default(5_000),
    /** Days after delivery a return is accepted (used where the ERP does not decide it). */
    returnWindowDays: positiveInt.default(30),
    /** When the ERP fails or times out during an order question, open a ticket for a human. */
    ticketOnFailure: flag.default(false),
    demo: z.object({ file: z.string().default('adapters/erp/demo-orders.yaml') }).prefault({}),
    rest: restErpSchema.optional(),
    odoo: odooErpSchema.optional(),
    sap: sapErpSchema.optional(),
    shopify: shopifyErpSchema.optional(),
    /** Consecutive ERP failures before order look-ups fail fast for `resetMs`. */
    breaker: z
      .object({ failureThreshold: positiveInt.default(5), resetMs: positiveInt.default(30_000) })
      .prefault({}),
    /** Wrong phone/e-mail answers before the conversation must wait. */
    maxVerificationAttempts: positiveInt.default(3),
    /** Wrong phone/e-mail answers per order and hour, over all conversations, before the order is locked. */
    verification: z.object({ maxFailuresPerOrderPerHour: positiveInt.default(10) }).prefault({}),
  })
  .prefault({})
  .refine((erp) => erp.driver !== 'rest' || erp.rest !== undefined, {
    message: 'erp.driver is "rest" but erp.rest is missing; set erp.rest.baseUrl, auth, getOrder and fields',
    path: ['rest'],
  })
  .refine((erp) => erp.driver !== 'odoo' || erp.odoo !== undefined, {
    message: 'erp.driver is "odoo" but erp.odoo is missing; set erp.odoo.baseUrl, db, login and apiKey',
    path: ['odoo'],
  })
  .refine((erp) => erp.driver !== 'sap' || erp.sap !== undefined, {
    message: 'erp.driver is "sap" but erp.sap is missing; set erp.sap.baseUrl and auth (basic or oauth2)',
    path: ['sap'],
  })
  .refine((erp) => erp.driver !== 'shopify' || erp.shopify !== undefined, {
    message: 'erp.driver is "shopify" but erp.shopify is missing; set erp.shopify.shopUrl and accessToken',
    path: ['shopify'],
  });

/** A webhook signing secret; empty (e.g. `${VAR:-}` unset) means no receiver. */
const webhookSecret = z
  .union([z.literal(''), z.string().min(16, 'use a secret of at least 16 characters')])
  .optional()
  .transform((value) => value || undefined);

const ticketStatusSchema = z.enum(['new', 'open', 'pending', 'solved', 'closed']);

const freshdeskSchema = z.object({
  /** https://<domain>.freshdesk.com */
  baseUrl: z.string().url(),
  /** The agent's API key (Profile settings → API key); sent as basic auth `apiKey:X`. */
  apiKey: z.string().min(1),
  /** Freshdesk ticket source: 7 chat (default), 2 portal, 3 phone, 1 email. */
  source: positiveInt.default(7),
  groupId: positiveInt.optional(),
  /** Freshdesk ticket `type` per hub category (orders, returns, billing, general), e.g. {returns: Refund}. */
  typeByCategory: z.record(z.string(), z.string()).default({}),
  /** Custom fields sent with every ticket ({cf_channel: hub}); "{category}" and "{priority}" in a value are filled in. */
  customFields: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).default({}),
  /** The look-up before create scans tickets updated this recently (Freshdesk's search index lags by minutes). */
  recentWindowMs: positiveInt.default(3_600_000),
});

const jiraSmSchema = z.object({
  /** https://<site>.atlassian.net */
  baseUrl: z.string().url(),
  /** Basic auth with an Atlassian account e-mail and API token. */
  email: z.string().min(1),
  apiToken: z.string().min(1),
  serviceDeskId: z.coerce.string().min(1),
  requestTypeId: z.coerce.string().min(1),
  /** Request type per hub category (orders, returns, billing, general); others use requestTypeId. */
  requestTypeByCategory: z.record(z.string(), z.coerce.string()).default({}),
  /** Send the hub's priority as a Jira priority name (the request type must show the Priority field). */
  sendPriority: flag.default(false),
  /** Transition names tried, in order, to reach a hub status; merged over the built-in names. */
  transitions: z.partialRecord(ticketStatusSchema, z.array(z.string().min(1))).default({}),
  /** Jira status name (any case) → hub status; merged over the built-in names. */
  statuses: z.record(z.string(), ticketStatusSchema).default({}),
});

const servicenowSchema = z
  .object({
    /** https://<instance>.service-now.com */
    instanceUrl: z.string().url(),
    /** basic (an integration user) or oauth2 (client credentials, tokenUrl .../oauth_token.do). */
    auth: httpAuthSchema,
    table: z.string().regex(/^\w+$/, 'table is a table name such as incident').default('incident'),
    /** sys_id of the caller the incidents are filed for (an integration user); the customer is in the description. */
    callerId: z.string().optional(),
    assignmentGroup: z.string().optional(),
    contactType: z.string().optional(),
    /** ServiceNow category per hub category (orders, returns, billing, general); default "inquiry". */
    categoryByCategory: z.record(z.string(), z.string()).default({}),
    /** close_code written when the hub resolves or closes an incident. */
    closeCode: z.string().default('Solution provided'),
  })
  .refine((sn) => sn.auth.type !== 'none', {
    message: 'ticketing.servicenow.auth is missing; set type basic (username, password) or oauth2',
    path: ['auth'],
  });

const webhookTicketingSchema = z.object({
  /** Where new tickets are POSTed; the answer {id, url?} names the ticket. */
  url: z.string().url(),
  /** HMAC-SHA256 key of X-Hub-Signature-256 (over "<X-Hub-Timestamp>.<body>"). */
  secret: z.string().min(16, 'ticketing.webhook.secret needs at least 16 characters'),
  /** URL templates, {id} filled in: POST a comment, GET a ticket, POST a status. Unset: unsupported. */
  commentUrl: z.string().url().optional(),
  ticketUrl: z.string().url().optional(),
  statusUrl: z.string().url().optional(),
});

export const ticketingConfigSchema = z
  .object({
    driver: z.enum(['demo', 'zendesk', 'rt', 'freshdesk', 'jiraSm', 'servicenow', 'webhook']).default('demo'),
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
    freshdesk: freshdeskSchema.optional(),
    jiraSm: jiraSmSchema.optional(),
    servicenow: servicenowSchema.optional(),
    webhook: webhookTicketingSchema.optional(),
    /**
     * Helpdesk → hub updates (agent replies, assignment, solved/closed). A receiver exists only
     * when its secret is set: POST /webhooks/helpdesk/zendesk, POST /webhooks/helpdesk/generic.
     */
    webhooks: z
      .object({
        /** The Zendesk webhook's signing secret (Admin Center → Webhooks → the webhook → Signing secret). */
        zendeskSecret: webhookSecret,
        /** Shared HMAC-SHA256 secret for X-Hub-Signature-256 (Request Tracker scrips, other helpdesks). */
        genericSecret: webhookSecret,
        /** Largest clock difference accepted for a signature timestamp (replays outside it are refused). */
        toleranceSeconds: positiveInt.default(300),
      })
      .prefault({}),
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
  })
  .refine((t) => t.driver !== 'freshdesk' || t.freshdesk !== undefined, {
    message: 'ticketing.driver is "freshdesk" but ticketing.freshdesk is missing; set baseUrl and apiKey',
    path: ['freshdesk'],
  })
  .refine((t) => t.driver !== 'jiraSm' || t.jiraSm !== undefined, {
    message:
      'ticketing.driver is "jiraSm" but ticketing.jiraSm is missing; set baseUrl, email, apiToken, serviceDeskId, requestTypeId',
    path: ['jiraSm'],
  })
  .refine((t) => t.driver !== 'servicenow' || t.servicenow !== undefined, {
    message:
      'ticketing.driver is "servicenow" but ticketing.servicenow is missing; set instanceUrl and auth (basic or oauth2)',
    path: ['servicenow'],
  })
  .refine((t) => t.driver !== 'webhook' || t.webhook !== undefined, {
    message: 'ticketing.driver is "webhook" but ticketing.webhook is missing; set url and secret',
    path: ['webhook'],
  });

export type ErpConfig = z.infer<typeof erpConfigSchema>;
export type RestErpConfig = z.infer<typeof restErpSchema>;
export type OdooErpConfig = z.infer<typeof odooErpSchema>;
export type SapErpConfig = z.infer<typeof sapErpSchema>;
export type ShopifyErpConfig = z.infer<typeof shopifyErpSchema>;
export type TicketingConfig = z.infer<typeof ticketingConfigSchema>;
export type HttpAuthConfig = z.infer<typeof httpAuthSchema>;
