import { z } from 'zod';
import { orderIdSchema } from '../order-ids';
import { rateLimitSchema } from '../retry';

const flag = z.union([z.boolean(), z.stringbool()]);

/** `erp.odoo`: Odoo External RPC API (JSON-RPC at /jsonrpc), sale.order and stock.picking. */
export const odooErpOptionsSchema = z.object({
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

export type OdooErpConfig = z.infer<typeof odooErpOptionsSchema>;
