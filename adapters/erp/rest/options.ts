import { z } from 'zod';
import { httpAuthSchema } from '../../auth';

/** One REST call: a URL template ({orderId}, {email}, {phone} are URL-encoded in), and where the data is. */
const restCallSchema = z.object({
  path: z.string().min(1),
  method: z.enum(['GET', 'POST']).default('GET'),
  /** JSONPath of the order object (getOrder) or of the list of orders (listOrders) in the response. */
  select: z.string().default('$'),
});

/** `erp.rest`: any ERP with a JSON REST API, mapped by JSONPath. */
export const restErpOptionsSchema = z.object({
  baseUrl: z.string().url(),
  auth: httpAuthSchema,
  getOrder: restCallSchema,
  listOrders: restCallSchema.optional(),
  /**
   * A cheap authenticated GET (a health, who-am-I or empty-list URL) `hub validate --online`
   * calls to prove the URL and the credentials; unset, the check is skipped.
   */
  checkPath: z.string().min(1).optional(),
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

export type RestErpConfig = z.infer<typeof restErpOptionsSchema>;
