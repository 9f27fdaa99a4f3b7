import {
  type AdapterCallContext,
  AdapterError,
  AdapterErrorCodes,
  type CustomerLookup,
  type ErpAdapter,
  type Order,
  type OrderStatus,
  type ReturnEligibility,
  type Shipment,
} from '../../core/types';

/** The hub's order statuses: what an ERP's own status words are mapped onto. */
export const ORDER_STATUSES: readonly OrderStatus[] = [
  'pending',
  'confirmed',
  'processing',
  'shipped',
  'delivered',
  'cancelled',
  'returned',
];

/** Map an ERP's own status word through `statusMap`, then onto the hub's statuses. */
export function toOrderStatus(raw: unknown, statusMap: Record<string, string> = {}): OrderStatus {
  const word = String(raw ?? '').trim();
  const mapped = (statusMap[word] ?? statusMap[word.toLowerCase()] ?? word).toLowerCase();
  if ((ORDER_STATUSES as readonly string[]).includes(mapped)) return mapped as OrderStatus;
  throw new AdapterError(
    AdapterErrorCodes.invalid,
    `ERP order status "${word}" is not one the hub knows. Fix: map it in erp.rest.statusMap to one of ${ORDER_STATUSES.join(', ')}`,
  );
}

/** Return rule for ERPs that do not decide it themselves: delivered, and within the window. */
export function returnEligibilityOf(order: Order, windowDays: number, now = Date.now()): ReturnEligibility {
  if (order.status === 'returned') return { eligible: false, reason: 'already_returned' };
  if (order.status === 'cancelled') return { eligible: false, reason: 'cancelled' };
  if (order.status !== 'delivered') return { eligible: false, reason: 'not_delivered' };
  const delivered = Date.parse(order.deliveredAt ?? order.shipment?.shippedAt ?? order.placedAt);
  const until = delivered + windowDays * 86_400_000;
  if (Number.isNaN(delivered) || now > until) return { eligible: false, reason: 'window_closed' };
  return { eligible: true, reason: 'eligible', until: new Date(until).toISOString().slice(0, 10) };
}

/**
 * An ERP adapter that answers shipments and return eligibility from the order itself: the
 * order's shipment, and the hub's return rule (returnEligibilityOf) over `returnWindowDays`.
 */
export abstract class OrderBasedErp implements ErpAdapter {
  abstract readonly name: string;

  constructor(
    private readonly returnWindowDays: number,
    private readonly now: () => number,
  ) {}

  abstract getOrder(orderId: string, ctx: AdapterCallContext): Promise<Order | undefined>;
  abstract listOrders(customer: CustomerLookup, ctx: AdapterCallContext): Promise<Order[]>;

  async getShipment(orderId: string, ctx: AdapterCallContext): Promise<Shipment | undefined> {
    return (await this.getOrder(orderId, ctx))?.shipment;
  }

  async returnEligibility(orderId: string, ctx: AdapterCallContext): Promise<ReturnEligibility> {
    const order = await this.getOrder(orderId, ctx);
    if (!order) return { eligible: false, reason: 'not_found' };
    return returnEligibilityOf(order, this.returnWindowDays, this.now());
  }
}
