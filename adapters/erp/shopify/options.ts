import { z } from 'zod';
import { orderIdSchema } from '../order-ids';
import { rateLimitSchema } from '../retry';

/** `erp.shopify`: Shopify Admin GraphQL API with a custom app's Admin API access token. */
export const shopifyErpOptionsSchema = z.object({
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

export type ShopifyErpConfig = z.infer<typeof shopifyErpOptionsSchema>;
