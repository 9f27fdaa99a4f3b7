import type { OnlineCheckFor } from '../../../core/config/online';
import { onlineContext, probe } from '../../online';
import { onlineErpSettings } from '../online';
import type { ShopifyErpConfig } from './options';
import { ShopifyErp } from './shopify';

const FIXES = {
  credentials:
    "erp.shopify.accessToken (SHOPIFY_ACCESS_TOKEN; the custom app's Admin API access token, shpat_…)",
  url: 'erp.shopify.shopUrl (https://<shop>.myshopify.com) and apiVersion',
};

/** `hub validate --online`: the Admin GraphQL query `{ shop { name } }` with the access token. */
export const checkShopifyOnline: OnlineCheckFor<ShopifyErpConfig> = async (options, { signal }) => {
  const shopify = new ShopifyErp(options, onlineErpSettings);
  const name = await probe('Admin GraphQL { shop { name } }', FIXES, () =>
    shopify.shopName(onlineContext(signal)),
  );
  return `shop ${name} (Admin API ${options.apiVersion})`;
};
