import type { ErpConfig } from '../../core/config/adapters-schema';
import type { ErpAdapter } from '../../core/types';
import { DemoErp } from './demo';
import { OdooErp } from './odoo';
import { RestErp } from './rest';
import { SapErp } from './sap';
import { ShopifyErp } from './shopify';

export { DemoErp } from './demo';
export { OdooErp } from './odoo';
export { RestErp } from './rest';
export { SapErp } from './sap';
export { ShopifyErp } from './shopify';

type Factory = (config: ErpConfig) => Promise<ErpAdapter>;

/** ERPs by driver name: a new one is one file plus one line here. */
export const erpFactories: Record<ErpConfig['driver'], Factory> = {
  demo: (config) => DemoErp.load(config.demo.file, { returnWindowDays: config.returnWindowDays }),
  rest: async (config) => new RestErp(config.rest as NonNullable<ErpConfig['rest']>, config),
  odoo: async (config) => new OdooErp(config.odoo as NonNullable<ErpConfig['odoo']>, config),
  sap: async (config) => new SapErp(config.sap as NonNullable<ErpConfig['sap']>, config),
  shopify: async (config) => new ShopifyErp(config.shopify as NonNullable<ErpConfig['shopify']>, config),
};

export function createErp(config: ErpConfig): Promise<ErpAdapter> {
  return erpFactories[config.driver](config);
}
