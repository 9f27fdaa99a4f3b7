import { JSONPath } from 'jsonpath-plus';
import {
  type AdapterCallContext,
  AdapterError,
  AdapterErrorCodes,
  type CustomerLookup,
  type Order,
  type Shipment,
} from '../../../core/types';
import { HttpAuth } from '../../auth';
import { requestJson, unlessNotFound } from '../../http';
import type { ErpSettings } from '../descriptor';
import { OrderBasedErp, toOrderStatus } from '../orders';
import type { RestErpConfig } from './options';

/**
 * Any ERP with a JSON HTTP API, mapped entirely by config: URL templates for the calls, an auth
 * scheme, and JSONPath expressions that pick each Order field out of the response.
 */
export class RestErp extends OrderBasedErp {
  readonly name = 'rest';
  private readonly auth: HttpAuth;
  private readonly base: string;

  constructor(
    private readonly config: RestErpConfig,
    private readonly erp: ErpSettings,
    now: () => number = Date.now,
  ) {
    super(erp.returnWindowDays, now);
    this.auth = new HttpAuth(config.auth, 'ERP', erp.timeoutMs);
    this.base = config.baseUrl.replace(/\/+$/, '');
  }

  async getOrder(orderId: string, ctx: AdapterCallContext): Promise<Order | undefined> {
    const body = await unlessNotFound(() => this.call(this.config.getOrder, { orderId }, ctx));
    const raw = pick(body, this.config.getOrder.select);
    return raw === undefined || raw === null ? undefined : this.toOrder(raw);
  }

  async listOrders(customer: CustomerLookup, ctx: AdapterCallContext): Promise<Order[]> {
    const call = this.config.listOrders;
    if (!call || (!customer.email && !customer.phone)) return [];
    const body = await this.call(call, { email: customer.email ?? '', phone: customer.phone ?? '' }, ctx);
    const found = JSONPath({ path: call.select, json: body as object, wrap: true }) as unknown[];
    return found.map((raw) => this.toOrder(raw));
  }

  /** `checkPath` fetched with the configured auth (`hub validate --online`). */
  async checkConnection(checkPath: string, ctx: AdapterCallContext): Promise<void> {
    await this.call({ path: checkPath, method: 'GET', select: '$' }, {}, ctx);
  }

  /** Expand the URL template (values URL-encoded), call, and retry once with a fresh OAuth2 token on 401. */
  private async call(
    call: RestErpConfig['getOrder'],
    values: Record<string, string>,
    ctx: AdapterCallContext,
  ): Promise<unknown> {
    const path = call.path.replace(/\{(\w+)\}/g, (_m, name: string) =>
      encodeURIComponent(values[name] ?? ''),
    );
    const url = /^https?:\/\//.test(path) ? path : `${this.base}${path.startsWith('/') ? '' : '/'}${path}`;
    const { body } = await this.auth.authorized(ctx.signal, (headers) =>
      requestJson('ERP', url, {
        method: call.method,
        headers: { ...headers, 'x-tenant': ctx.tenant },
        signal: ctx.signal,
        timeoutMs: this.erp.timeoutMs,
      }),
    );
    return body;
  }

  private toOrder(raw: unknown): Order {
    const f = this.config.fields;
    const text = (path: string, from: unknown = raw) => {
      const value = pick(from, path);
      return value === undefined || value === null || value === '' ? undefined : String(value);
    };
    const id = text(f.id);
    if (!id)
      throw new AdapterError(
        AdapterErrorCodes.invalid,
        `ERP order has no id at ${f.id}. Fix: erp.rest.fields.id`,
      );
    const lines = JSONPath({ path: f.lines, json: raw as object, wrap: true }) as unknown[];
    const amount = text(f.totalAmount);
    const shipment: Shipment = {
      carrier: text(f.carrier),
      trackingNumber: text(f.trackingNumber),
      trackingUrl: text(f.trackingUrl),
      status: text(f.shipmentStatus),
      estimatedDelivery: text(f.estimatedDelivery),
    };
    const hasShipment = Object.values(shipment).some((v) => v !== undefined);
    return {
      id,
      status: toOrderStatus(pick(raw, f.status), this.config.statusMap),
      placedAt: text(f.placedAt) ?? '',
      customer: { email: text(f.email), phone: text(f.phone), name: text(f.name) },
      lines: lines.map((line) => ({
        sku: text(f.lineSku, line) ?? '',
        name: text(f.lineName, line) ?? '',
        quantity: Number(text(f.lineQuantity, line) ?? 1),
      })),
      total:
        amount !== undefined ? { amount: Number(amount), currency: text(f.totalCurrency) ?? '' } : undefined,
      shipment: hasShipment ? shipment : undefined,
      deliveredAt: text(f.deliveredAt),
    };
  }
}

/** The first value at a JSONPath, or undefined. */
function pick(json: unknown, path: string): unknown {
  if (json === undefined || json === null) return undefined;
  const found = JSONPath({ path, json: json as object, wrap: true }) as unknown[];
  return found[0];
}
