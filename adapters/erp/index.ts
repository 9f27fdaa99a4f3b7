import { erpSectionSchema } from '../../core/config/adapters-schema';
import { PluginRegistry, type PluginSection } from '../../core/config/plugins';
import type { ErpAdapter } from '../../core/types';
import { demoErp } from './demo';
import type { AnyErpDescriptor } from './descriptor';
import { odooErp } from './odoo';
import { restErp } from './rest';
import { sapErp } from './sap';
import { shopifyErp } from './shopify';

export { DemoErp } from './demo';
export { type AnyErpDescriptor, defineErp, type ErpDescriptor, type ErpSettings } from './descriptor';
export { OdooErp } from './odoo';
export { RestErp } from './rest';
export { SapErp } from './sap';
export { ShopifyErp } from './shopify';

export type ErpRegistry = PluginRegistry<AnyErpDescriptor>;

/** ERP adapters by `erp.driver`: a new one is one folder plus one line here. */
export const erps: ErpRegistry = new PluginRegistry('ERP', 'erp', 'driver', [
  demoErp,
  restErp,
  odooErp,
  sapErp,
  shopifyErp,
]).withSectionKeys(erpSectionSchema);

/** The `erp:` section: its generic keys and the chosen driver's block. */
export const erpConfigSchema = erps.sectionSchema(erpSectionSchema);

/** The configured ERP adapter; a config error names the key and the fix. */
export async function createErp(
  config: PluginSection & { timeoutMs: number; returnWindowDays: number },
  registry: ErpRegistry = erps,
): Promise<ErpAdapter> {
  const { descriptor, options } = registry.resolve(config);
  // The descriptor's own schema produced `options`.
  return descriptor.create(options as never, config);
}
