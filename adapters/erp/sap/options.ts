import { z } from 'zod';
import { httpAuthSchema } from '../../auth';
import { orderIdSchema } from '../order-ids';
import { rateLimitSchema } from '../retry';

/** `erp.sap`: SAP S/4HANA OData v2, API_SALES_ORDER_SRV, customer contacts from API_BUSINESS_PARTNER. */
export const sapErpOptionsSchema = z.object({
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

export type SapErpConfig = z.infer<typeof sapErpOptionsSchema>;
