import { emailsMatch, normalizePhone, phonesMatch } from '../../../core/orders/identity';
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
import type { OdooErpConfig } from './options';

/*
 * Odoo's External RPC API over JSON-RPC 2.0 (odoo.com/documentation, "External RPC API"; deprecated
 * in Odoo 19 in favour of the JSON-2 API, removal planned for Odoo 22):
 *   POST /jsonrpc {"jsonrpc":"2.0","method":"call","params":{"service":"common","method":"authenticate",
 *     "args":[db, login, apiKey, {}]},"id":1}                    → {"result": uid} or {"result": false}
 *   params {"service":"object","method":"execute_kw","args":[db, uid, apiKey, model, method, args, kwargs]}
 *                                                               → {"result": [...records]}
 * Failures arrive as HTTP 200 with {"error":{"code":200,"message":"Odoo Server Error","data":{"name":
 * "odoo.exceptions.AccessDenied","message":"Access Denied",...}}}; a proxy in front may answer 429/5xx.
 * Many2one fields read as [id, "display name"], empty fields as false, datetimes as "YYYY-MM-DD HH:MM:SS" UTC.
 *
 * Mapped: sale.order (name, state, date_order, amount_total, currency_id, partner_id → res.partner
 * email/phone), sale.order.line (product default_code, name, product_uom_qty), outgoing stock.picking
 * whose origin is the order name (state, date_done, carrier_id, carrier_tracking_ref/url).
 * Not mapped: returns (return pickings do not carry the order name as origin), expected delivery dates
 * (Odoo plans when to ship, not when the parcel arrives).
 */

type OdooValue = string | number | boolean | null | OdooValue[] | { [key: string]: OdooValue };
type OdooRecord = Record<string, OdooValue>;

interface JsonRpcResponse<T> {
  result?: T;
  error?: { code?: number; message?: string; data?: { name?: string; message?: string } };
}

const ORDER_FIELDS = ['name', 'state', 'date_order', 'amount_total', 'currency_id', 'partner_id'];
const TRACKING_FIELDS = ['carrier_id', 'carrier_tracking_ref', 'carrier_tracking_url'];

export class OdooErp extends OrderBasedErp {
  readonly name = 'odoo';
  private readonly endpoint: string;
  private uid?: Promise<number>;
  private requestId = 0;

  constructor(
    private readonly config: OdooErpConfig,
    private readonly erp: ErpSettings,
    now: () => number = Date.now,
  ) {
    super(erp.returnWindowDays, now);
    this.endpoint = `${config.baseUrl.replace(/\/+$/, '')}/jsonrpc`;
  }

  async getOrder(orderId: string, ctx: AdapterCallContext): Promise<Order | undefined> {
    const value = toSystemOrderId(orderId, this.config.orderId);
    if (!value) return undefined;
    const found = await this.execute<OdooRecord[]>(
      'sale.order',
      'search_read',
      [[[this.config.orderId.field, '=', value]]],
      { fields: [...ORDER_FIELDS, 'client_order_ref'], limit: 1 },
      ctx,
    );
    return (await this.toOrders(found, ctx))[0];
  }

  /** Partners whose e-mail or phone matches, then their orders, newest first. */
  async listOrders(customer: CustomerLookup, ctx: AdapterCallContext): Promise<Order[]> {
    const phoneFields = this.config.partnerPhoneFields;
    const terms: Array<[string, string, OdooValue]> = [];
    if (customer.email) terms.push(['email', '=ilike', customer.email.trim()]);
    // Odoo stores phones as typed ("+1 555-0100"): search loosely by the last digits, match exactly below.
    const tail = normalizePhone(customer.phone)?.slice(-4);
    if (tail) for (const field of phoneFields) terms.push([field, 'ilike', tail]);
    if (terms.length === 0) return [];
    const partners = await this.execute<OdooRecord[]>(
      'res.partner',
      'search_read',
      [[...Array(terms.length - 1).fill('|'), ...terms]],
      { fields: ['email', ...phoneFields], limit: 200 },
      ctx,
    );
    const ids = partners
      .filter(
        (p) =>
          emailsMatch(customer.email, text(p.email)) ||
          phoneFields.some((f) =>
            phonesMatch(customer.phone, text(p[f]), { defaultRegion: customer.phoneRegion }),
          ),
      )
      .map((p) => p.id as number);
    if (ids.length === 0) return [];
    const orders = await this.execute<OdooRecord[]>(
      'sale.order',
      'search_read',
      [[['partner_id', 'in', ids]]],
      { fields: [...ORDER_FIELDS, 'client_order_ref'], order: 'date_order desc', limit: 50 },
      ctx,
    );
    return this.toOrders(orders, ctx);
  }

  /** Reads partners, lines, products and deliveries of all the orders in one call each. */
  private async toOrders(orders: OdooRecord[], ctx: AdapterCallContext): Promise<Order[]> {
    if (orders.length === 0) return [];
    const phoneFields = this.config.partnerPhoneFields;
    const partnerIds = unique(orders.map((o) => many2one(o.partner_id)?.id));
    const names = orders.map((o) => String(o.name));
    const [partners, lines, pickings] = await Promise.all([
      this.execute<OdooRecord[]>(
        'res.partner',
        'read',
        [partnerIds],
        { fields: ['email', 'name', ...phoneFields] },
        ctx,
      ),
      this.execute<OdooRecord[]>(
        'sale.order.line',
        'search_read',
        [
          [
            ['order_id', 'in', orders.map((o) => o.id as number)],
            ['display_type', '=', false],
          ],
        ],
        { fields: ['order_id', 'product_id', 'name', 'product_uom_qty'] },
        ctx,
      ),
      this.execute<OdooRecord[]>(
        'stock.picking',
        'search_read',
        [
          [
            ['origin', 'in', names],
            ['picking_type_code', '=', 'outgoing'],
            ['state', '!=', 'cancel'],
          ],
        ],
        {
          fields: ['origin', 'state', 'date_done', ...(this.config.tracking ? TRACKING_FIELDS : [])],
          order: 'id asc',
        },
        ctx,
      ),
    ]);
    const productIds = unique(lines.map((l) => many2one(l.product_id)?.id));
    const products = productIds.length
      ? await this.execute<OdooRecord[]>(
          'product.product',
          'read',
          [productIds],
          { fields: ['default_code'] },
          ctx,
        )
      : [];
    const skuOf = new Map(products.map((p) => [p.id as number, text(p.default_code)]));
    const partnerOf = new Map(partners.map((p) => [p.id as number, p]));
    return orders.map((order) => {
      const partner = partnerOf.get(many2one(order.partner_id)?.id ?? -1) ?? {};
      const own = pickings.filter((p) => p.origin === order.name);
      const { status, shipment, deliveredAt } = this.deliveryOf(String(order.state), own);
      const currency = many2one(order.currency_id)?.name;
      return {
        id: toHubOrderId(String(order[this.config.orderId.field] || order.name), this.config.orderId),
        status,
        placedAt: isoOf(order.date_order) ?? '',
        customer: {
          email: text(partner.email),
          phone: phoneFields.map((f) => text(partner[f])).find(Boolean),
          name: text(partner.name) ?? many2one(order.partner_id)?.name,
        },
        lines: lines
          .filter((l) => many2one(l.order_id)?.id === order.id)
          .map((l) => ({
            sku: skuOf.get(many2one(l.product_id)?.id ?? -1) ?? '',
            name: text(l.name) ?? many2one(l.product_id)?.name ?? '',
            quantity: Number(l.product_uom_qty ?? 0),
          })),
        total:
          typeof order.amount_total === 'number' && currency
            ? { amount: order.amount_total, currency }
            : undefined,
        shipment,
        deliveredAt,
      } satisfies Order;
    });
  }

  /**
   * sale.order.state: draft/sent (quotation) → pending, cancel → cancelled, sale/done → confirmed,
   * processing once a delivery is ready (assigned), shipped once one is done (validated).
   */
  private deliveryOf(
    state: string,
    pickings: OdooRecord[],
  ): { status: OrderStatus; shipment?: Shipment; deliveredAt?: string } {
    if (state === 'cancel') return { status: 'cancelled' };
    if (state === 'draft' || state === 'sent') return { status: 'pending' };
    if (state !== 'sale' && state !== 'done') {
      throw new AdapterError(
        AdapterErrorCodes.invalid,
        `Odoo sale.order state "${state}" is not one the hub knows (draft, sent, sale, done, cancel)`,
      );
    }
    const done = pickings.filter((p) => p.state === 'done');
    const shown = done.at(-1) ?? pickings.at(-1);
    const shipment: Shipment | undefined = shown && {
      carrier: many2one(shown.carrier_id)?.name,
      trackingNumber: text(shown.carrier_tracking_ref),
      trackingUrl: text(shown.carrier_tracking_url),
      status: text(shown.state),
      shippedAt: isoOf(shown.date_done),
    };
    if (done.length === 0) {
      const ready = pickings.some((p) => p.state === 'assigned');
      return { status: ready ? 'processing' : 'confirmed', shipment };
    }
    const allDone = done.length === pickings.length;
    if (allDone && this.config.doneMeansDelivered) {
      const last = done
        .map((p) => isoOf(p.date_done) ?? '')
        .sort()
        .at(-1);
      return { status: 'delivered', shipment, deliveredAt: last || undefined };
    }
    return { status: 'shipped', shipment };
  }

  private execute<T>(
    model: string,
    method: string,
    args: OdooValue[],
    kwargs: Record<string, OdooValue>,
    ctx: AdapterCallContext,
  ): Promise<T> {
    return retryRateLimited(
      'Odoo',
      async () => {
        const uid = await this.login(ctx);
        try {
          return await this.rpc<T>(
            'object',
            'execute_kw',
            [this.config.db, uid, this.config.apiKey, model, method, args, kwargs],
            ctx,
          );
        } catch (error) {
          // A rotated key or a deleted user: log in afresh next time rather than keep a stale uid.
          if (error instanceof AdapterError && error.code === AdapterErrorCodes.auth) this.uid = undefined;
          throw error;
        }
      },
      this.config.rateLimit,
      ctx.signal,
    );
  }

  /** The uid common.authenticate gives the configured login (an auth error when it answers false). */
  authenticate(ctx: AdapterCallContext): Promise<number> {
    return this.login(ctx);
  }

  /** common.authenticate → uid, once; false means wrong database, login or key. */
  private login(ctx: AdapterCallContext): Promise<number> {
    this.uid ??= this.rpc<number | false>(
      'common',
      'authenticate',
      [this.config.db, this.config.login, this.config.apiKey, {}],
      ctx,
    ).then((uid) => {
      if (typeof uid !== 'number' || uid <= 0) {
        throw new AdapterError(
          AdapterErrorCodes.auth,
          `Odoo refused the login on database "${this.config.db}". Fix: check erp.odoo.db, erp.odoo.login and the API key in erp.odoo.apiKey`,
          { status: 401 },
        );
      }
      return uid;
    });
    this.uid.catch(() => {
      this.uid = undefined;
    });
    return this.uid;
  }

  private async rpc<T>(
    service: string,
    method: string,
    args: OdooValue[],
    ctx: AdapterCallContext,
  ): Promise<T> {
    const { body } = await requestJson<JsonRpcResponse<T>>('Odoo', this.endpoint, {
      method: 'POST',
      body: { jsonrpc: '2.0', method: 'call', params: { service, method, args }, id: ++this.requestId },
      headers: { 'x-tenant': ctx.tenant },
      signal: ctx.signal,
      timeoutMs: this.erp.timeoutMs,
    });
    if (body?.error) throw odooError(body.error);
    if (!body || !('result' in body)) {
      throw new AdapterError(AdapterErrorCodes.unavailable, 'Odoo answered without a JSON-RPC result', {
        retryable: true,
        status: 502,
      });
    }
    return body.result as T;
  }
}

/** Odoo's exception name decides: access problems are auth, its own exceptions are the request's fault. */
function odooError(error: NonNullable<JsonRpcResponse<unknown>['error']>): AdapterError {
  const name = error.data?.name ?? '';
  const detail = (error.data?.message ?? error.message ?? '').slice(0, 200);
  if (/AccessDenied|AccessError/.test(name) || error.code === 100) {
    return new AdapterError(
      AdapterErrorCodes.auth,
      `Odoo denied access (${name || error.code}): ${detail}. Fix: check erp.odoo.login and erp.odoo.apiKey, and that the user may read sales orders, contacts and deliveries`,
      { status: 403 },
    );
  }
  if (name.startsWith('odoo.exceptions.') || name === 'builtins.ValueError' || name === 'builtins.KeyError') {
    const hint = /carrier/.test(detail)
      ? '. Fix: without the Delivery module installed, set erp.odoo.tracking: false'
      : /mobile/.test(detail)
        ? '. Fix: remove "mobile" from erp.odoo.partnerPhoneFields (Odoo 18 has no such field)'
        : '';
    return new AdapterError(
      AdapterErrorCodes.invalid,
      `Odoo refused the request (${name}): ${detail}${hint}`,
      {
        status: 422,
      },
    );
  }
  return new AdapterError(AdapterErrorCodes.unavailable, `Odoo failed (${name || error.code}): ${detail}`, {
    retryable: true,
    status: 502,
  });
}

function many2one(value: OdooValue | undefined): { id: number; name: string } | undefined {
  return Array.isArray(value) && typeof value[0] === 'number'
    ? { id: value[0], name: String(value[1] ?? '') }
    : undefined;
}

/** Odoo reads an empty field as false. */
function text(value: OdooValue | undefined): string | undefined {
  return value === false || value === null || value === undefined || value === '' ? undefined : String(value);
}

/** "2026-10-28 09:14:00" (UTC) → "2026-10-28T09:14:00Z". */
function isoOf(value: OdooValue | undefined): string | undefined {
  const raw = text(value);
  return raw && /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/.test(raw) ? `${raw.replace(' ', 'T')}Z` : raw;
}

function unique(ids: Array<number | undefined>): number[] {
  return [...new Set(ids.filter((id): id is number => id !== undefined))];
}
