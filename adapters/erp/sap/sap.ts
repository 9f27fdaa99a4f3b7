import {
  type AdapterCallContext,
  AdapterError,
  AdapterErrorCodes,
  type CustomerLookup,
  type Order,
  type OrderStatus,
} from '../../../core/types';
import { HttpAuth } from '../../auth';
import { requestJson, requestText, unlessNotFound } from '../../http';
import type { ErpSettings } from '../descriptor';
import { toHubOrderId, toSystemOrderId } from '../order-ids';
import { ORDER_STATUSES, OrderBasedErp } from '../orders';
import { retryRateLimited } from '../retry';
import type { SapErpConfig } from './options';

/*
 * SAP S/4HANA OData v2 (api.sap.com: API_SALES_ORDER_SRV, API_BUSINESS_PARTNER), read only, so no
 * X-CSRF-Token is fetched (SAP Gateway wants one for modifying requests only):
 *   GET <servicePath>/API_SALES_ORDER_SRV/A_SalesOrder('<SalesOrder>')?$expand=to_Item&$format=json
 *     → {"d": {SalesOrder, SoldToParty, CreationDate: "/Date(ms)/", TotalNetAmount: "89.00",
 *        TransactionCurrency, PurchaseOrderByCustomer, OverallSDProcessStatus, OverallDeliveryStatus,
 *        OverallSDDocumentRejectionSts, to_Item: {results: [{Material, SalesOrderItemText, RequestedQuantity}]}}}
 *   GET .../A_SalesOrder?$filter=PurchaseOrderByCustomer eq '<id>'&... → {"d": {"results": [...]}}
 *   GET <servicePath>/API_BUSINESS_PARTNER/A_BusinessPartner('<SoldToParty>')?$expand=
 *     to_BusinessPartnerAddress/to_EmailAddress,.../to_PhoneNumber,.../to_MobilePhoneNumber
 * Errors: 401/403 (communication user or token), 404 with {"error":{"code","message":{"value"}}} for an
 * unknown key, 429 with Retry-After (API management in front), 5xx.
 *
 * Status codes: OverallSDProcessStatus and OverallDeliveryStatus are A (not yet), B (partly), C (completely);
 * OverallSDDocumentRejectionSts C means every item was rejected. Mapped: rejected → cancelled;
 * delivery C with process C (delivered and billed) → delivered; delivery B or C → shipped; process B →
 * processing; otherwise confirmed. `statusMap` overrides by "<process>/<delivery>".
 * Not mapped: carrier and tracking number (they live on outbound deliveries and the carrier's system,
 * not on the sales order), the delivery date (SAP records goods issue, not arrival: return windows
 * count from the order date), gross totals (TotalNetAmount is net of tax). listOrders searches by
 * e-mail only (A_AddressEmailAddress, exact spelling as stored), not by phone.
 */

interface ODataList<T> {
  d?: { results?: T[] };
}
interface SalesOrder {
  SalesOrder: string;
  SoldToParty?: string;
  CreationDate?: string;
  TotalNetAmount?: string;
  TransactionCurrency?: string;
  PurchaseOrderByCustomer?: string;
  OverallSDProcessStatus?: string;
  OverallDeliveryStatus?: string;
  OverallSDDocumentRejectionSts?: string;
  to_Item?: {
    results?: Array<{ Material?: string; SalesOrderItemText?: string; RequestedQuantity?: string }>;
  };
}
interface Communication {
  EmailAddress?: string;
  IsDefaultEmailAddress?: boolean;
  PhoneNumber?: string;
  InternationalPhoneNumber?: string;
  IsDefaultPhoneNumber?: boolean;
}
interface BusinessPartner {
  BusinessPartnerFullName?: string;
  to_BusinessPartnerAddress?: {
    results?: Array<{
      to_EmailAddress?: { results?: Communication[] };
      to_PhoneNumber?: { results?: Communication[] };
      to_MobilePhoneNumber?: { results?: Communication[] };
    }>;
  };
}
type Contact = Order['customer'];

const HUB_STATUSES = new Set<string>(ORDER_STATUSES);
const DELIVERY_WORDS: Record<string, string> = { B: 'partially shipped', C: 'shipped' };

export class SapErp extends OrderBasedErp {
  readonly name = 'sap';
  private readonly auth: HttpAuth;
  private readonly root: string;

  constructor(
    private readonly config: SapErpConfig,
    private readonly erp: ErpSettings,
    now: () => number = Date.now,
  ) {
    super(erp.returnWindowDays, now);
    this.auth = new HttpAuth(config.auth, 'SAP', erp.timeoutMs);
    this.root = `${config.baseUrl.replace(/\/+$/, '')}/${config.servicePath.replace(/^\/+|\/+$/g, '')}`;
    for (const [key, status] of Object.entries(config.statusMap)) {
      if (!HUB_STATUSES.has(status)) {
        throw new AdapterError(
          AdapterErrorCodes.invalid,
          `erp.sap.statusMap["${key}"] is "${status}", not a hub status. Fix: use one of ${[...HUB_STATUSES].join(', ')}`,
        );
      }
    }
  }

  async getOrder(orderId: string, ctx: AdapterCallContext): Promise<Order | undefined> {
    const value = toSystemOrderId(orderId, this.config.orderId);
    if (!value) return undefined;
    let raw: SalesOrder | undefined;
    if (this.config.orderId.field === 'SalesOrder') {
      // Not found reads as no order (raw stays undefined).
      raw = await unlessNotFound(
        async () =>
          (
            await this.get<{ d?: SalesOrder }>(
              `API_SALES_ORDER_SRV/A_SalesOrder(${encodeURIComponent(literal(value))})`,
              { $expand: 'to_Item' },
              ctx,
            )
          ).d,
      );
    } else {
      const found = await this.get<ODataList<SalesOrder>>(
        'API_SALES_ORDER_SRV/A_SalesOrder',
        { $filter: `PurchaseOrderByCustomer eq ${literal(value)}`, $expand: 'to_Item', $top: '1' },
        ctx,
      );
      raw = found.d?.results?.[0];
    }
    if (!raw) return undefined;
    return this.toOrder(raw, await this.contactOf(raw.SoldToParty, ctx));
  }

  /** E-mail → address ids → business partners → their sales orders, newest first. */
  async listOrders(customer: CustomerLookup, ctx: AdapterCallContext): Promise<Order[]> {
    const email = customer.email?.trim();
    if (!email || this.config.contacts === 'none') return [];
    const addresses = await this.get<ODataList<{ AddressID: string }>>(
      'API_BUSINESS_PARTNER/A_AddressEmailAddress',
      { $filter: `EmailAddress eq ${literal(email)}`, $select: 'AddressID' },
      ctx,
    );
    const addressIds = unique((addresses.d?.results ?? []).map((a) => a.AddressID));
    if (addressIds.length === 0) return [];
    const partners = await this.get<ODataList<{ BusinessPartner: string }>>(
      'API_BUSINESS_PARTNER/A_BusinessPartnerAddress',
      { $filter: anyOf('AddressID', addressIds), $select: 'BusinessPartner' },
      ctx,
    );
    const partnerIds = unique((partners.d?.results ?? []).map((p) => p.BusinessPartner));
    if (partnerIds.length === 0) return [];
    const orders = await this.get<ODataList<SalesOrder>>(
      'API_SALES_ORDER_SRV/A_SalesOrder',
      {
        $filter: anyOf('SoldToParty', partnerIds),
        $expand: 'to_Item',
        $orderby: 'CreationDate desc',
        $top: '50',
      },
      ctx,
    );
    const contacts = new Map<string, Contact>();
    for (const id of partnerIds) contacts.set(id, await this.contactOf(id, ctx));
    return (orders.d?.results ?? []).map((raw) =>
      this.toOrder(raw, contacts.get(raw.SoldToParty ?? '') ?? {}),
    );
  }

  private toOrder(raw: SalesOrder, customer: Contact): Order {
    const field = this.config.orderId.field as 'SalesOrder' | 'PurchaseOrderByCustomer';
    const amount = Number(raw.TotalNetAmount);
    const delivery = raw.OverallDeliveryStatus ?? '';
    return {
      id: toHubOrderId(raw[field] || raw.SalesOrder, this.config.orderId),
      status: this.statusOf(raw),
      placedAt: dateOf(raw.CreationDate) ?? '',
      customer,
      lines: (raw.to_Item?.results ?? []).map((item) => ({
        sku: item.Material ?? '',
        name: item.SalesOrderItemText ?? '',
        quantity: Number(item.RequestedQuantity ?? 0),
      })),
      total:
        raw.TotalNetAmount !== undefined && Number.isFinite(amount)
          ? { amount, currency: raw.TransactionCurrency ?? '' }
          : undefined,
      shipment: DELIVERY_WORDS[delivery] ? { status: DELIVERY_WORDS[delivery] } : undefined,
    };
  }

  private statusOf(raw: SalesOrder): OrderStatus {
    const process = raw.OverallSDProcessStatus ?? '';
    const delivery = raw.OverallDeliveryStatus ?? '';
    const mapped = this.config.statusMap[`${process}/${delivery}`];
    if (mapped) return mapped as OrderStatus;
    if (raw.OverallSDDocumentRejectionSts === 'C') return 'cancelled';
    if (delivery === 'C' && process === 'C') return 'delivered';
    if (delivery === 'B' || delivery === 'C') return 'shipped';
    if (process === 'B') return 'processing';
    return 'confirmed';
  }

  /** The sold-to party's default (else first) e-mail, and its mobile (else landline) number. */
  private async contactOf(partner: string | undefined, ctx: AdapterCallContext): Promise<Contact> {
    if (!partner || this.config.contacts === 'none') return {};
    const response = await unlessNotFound(() =>
      this.get<{ d?: BusinessPartner }>(
        `API_BUSINESS_PARTNER/A_BusinessPartner(${encodeURIComponent(literal(partner))})`,
        {
          $expand: [
            'to_BusinessPartnerAddress/to_EmailAddress',
            'to_BusinessPartnerAddress/to_PhoneNumber',
            'to_BusinessPartnerAddress/to_MobilePhoneNumber',
          ].join(','),
        },
        ctx,
      ),
    );
    // No partner, no contact: the ownership check then refuses, as it must.
    if (!response) return {};
    const found = response.d;
    const addresses = found?.to_BusinessPartnerAddress?.results ?? [];
    const all = (pick: (a: (typeof addresses)[number]) => Communication[] | undefined) =>
      addresses.flatMap((a) => pick(a) ?? []);
    const emails = all((a) => a.to_EmailAddress?.results);
    const phones = [...all((a) => a.to_MobilePhoneNumber?.results), ...all((a) => a.to_PhoneNumber?.results)];
    const email = (emails.find((e) => e.IsDefaultEmailAddress) ?? emails[0])?.EmailAddress;
    const phone = phones.map((p) => p.InternationalPhoneNumber || p.PhoneNumber).find(Boolean);
    return {
      email: email || undefined,
      phone: phone || undefined,
      name: found?.BusinessPartnerFullName || undefined,
    };
  }

  /**
   * The sales-order service's `$metadata` (EDMX XML; OData v2 has no JSON form of it): reachable
   * with these credentials and client only when the communication arrangement covers the service.
   */
  async salesOrderMetadata(ctx: AdapterCallContext): Promise<string> {
    const query = this.config.client ? `?sap-client=${encodeURIComponent(this.config.client)}` : '';
    const url = `${this.root}/API_SALES_ORDER_SRV/$metadata${query}`;
    const { body } = await this.auth.authorized(ctx.signal, (headers) =>
      requestText('SAP', url, {
        headers: { ...headers, accept: 'application/xml' },
        signal: ctx.signal,
        timeoutMs: this.erp.timeoutMs,
      }),
    );
    return body;
  }

  /** One GET with $format=json (and sap-client), retrying once with a fresh OAuth2 token on 401. */
  private get<T>(path: string, query: Record<string, string>, ctx: AdapterCallContext): Promise<T> {
    const params = {
      ...query,
      $format: 'json',
      ...(this.config.client ? { 'sap-client': this.config.client } : {}),
    };
    const search = Object.entries(params)
      .map(([key, value]) => `${key}=${encodeURIComponent(value)}`)
      .join('&');
    const url = `${this.root}/${path}?${search}`;
    return retryRateLimited(
      'SAP',
      async () => {
        const { body } = await this.auth.authorized(ctx.signal, (headers) =>
          requestJson<T>('SAP', url, { headers, signal: ctx.signal, timeoutMs: this.erp.timeoutMs }),
        );
        return body;
      },
      this.config.rateLimit,
      ctx.signal,
    );
  }
}

/** An OData v2 string literal: single quotes, an inner quote doubled. */
function literal(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

function anyOf(field: string, values: string[]): string {
  return values.map((v) => `${field} eq ${literal(v)}`).join(' or ');
}

/** OData v2 JSON dates: "/Date(1546992000000)/" or "/Date(1546992000000+0060)/" (UTC milliseconds). */
function dateOf(value: string | undefined): string | undefined {
  const ms = value && /\/Date\((-?\d+)(?:[+-]\d{4})?\)\//.exec(value)?.[1];
  return ms ? new Date(Number(ms)).toISOString() : value || undefined;
}

function unique(values: Array<string | undefined>): string[] {
  return [...new Set(values.filter((v): v is string => Boolean(v)))];
}
