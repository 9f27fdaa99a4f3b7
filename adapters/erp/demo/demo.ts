import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { emailsMatch, phonesMatch } from '../../../core/orders/identity';
import { type AdapterCallContext, type CustomerLookup, HubError, type Order } from '../../../core/types';
import { OrderBasedErp, toOrderStatus } from '../orders';

/** The embedded ERP: orders from a YAML/JSON file shipped with the hub (adapters/erp/demo-orders.yaml). */
export class DemoErp extends OrderBasedErp {
  readonly name = 'demo';

  private constructor(
    private readonly orders: Map<string, Order>,
    returnWindowDays: number,
    now: () => number,
  ) {
    super(returnWindowDays, now);
  }

  static async load(
    file: string,
    options: { returnWindowDays: number; now?: () => number },
  ): Promise<DemoErp> {
    let parsed: unknown;
    try {
      parsed = parseYaml(await readFile(file, 'utf8'));
    } catch (error) {
      throw new HubError(
        'config.erp_demo_file',
        `Cannot read the demo orders at ${file}: ${(error as Error).message}. Fix: set erp.demo.file to a YAML or JSON file with an "orders" list.`,
        { cause: error },
      );
    }
    const list = (parsed as { orders?: unknown })?.orders;
    if (!Array.isArray(list)) {
      throw new HubError(
        'config.erp_demo_file',
        `${file} has no "orders" list. Fix: see adapters/erp/demo-orders.yaml.`,
      );
    }
    const orders = new Map<string, Order>();
    for (const raw of list as Array<Order & { placedAt: unknown; deliveredAt?: unknown }>) {
      const order: Order = {
        ...raw,
        // YAML reads unquoted timestamps as Dates.
        placedAt: iso(raw.placedAt) ?? '',
        deliveredAt: iso(raw.deliveredAt),
        status: toOrderStatus(raw.status),
        lines: raw.lines ?? [],
        customer: { ...raw.customer, phone: raw.customer?.phone ? String(raw.customer.phone) : undefined },
        shipment: raw.shipment
          ? {
              ...raw.shipment,
              shippedAt: iso(raw.shipment.shippedAt),
              estimatedDelivery: iso(raw.shipment.estimatedDelivery),
            }
          : undefined,
      };
      orders.set(order.id, order);
    }
    return new DemoErp(orders, options.returnWindowDays, options.now ?? Date.now);
  }

  async getOrder(orderId: string, ctx: AdapterCallContext): Promise<Order | undefined> {
    ctx.signal?.throwIfAborted();
    const order = this.orders.get(orderId.toUpperCase());
    return order ? structuredClone(order) : undefined;
  }

  async listOrders(customer: CustomerLookup, ctx: AdapterCallContext): Promise<Order[]> {
    ctx.signal?.throwIfAborted();
    if (!customer.email && !customer.phone) return [];
    return [...this.orders.values()]
      .filter(
        (o) =>
          (customer.email && emailsMatch(customer.email, o.customer.email)) ||
          (customer.phone &&
            phonesMatch(customer.phone, o.customer.phone, { defaultRegion: customer.phoneRegion })),
      )
      .sort((a, b) => b.placedAt.localeCompare(a.placedAt))
      .map((o) => structuredClone(o));
  }
}

function iso(value: unknown): string | undefined {
  if (value instanceof Date) return value.toISOString();
  return value === undefined || value === null ? undefined : String(value);
}
