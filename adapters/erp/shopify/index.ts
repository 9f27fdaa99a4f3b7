import { defineErp } from '../descriptor';
import { checkShopifyOnline } from './online';
import { shopifyErpOptionsSchema } from './options';
import { ShopifyErp } from './shopify';

export { type ShopifyErpConfig, shopifyErpOptionsSchema } from './options';
export { ShopifyErp } from './shopify';

export const shopifyErp = defineErp({
  name: 'shopify',
  options: shopifyErpOptionsSchema,
  requires: 'set erp.shopify.shopUrl and accessToken',
  online: checkShopifyOnline,
  create: (options, erp) => new ShopifyErp(options, erp),
});
