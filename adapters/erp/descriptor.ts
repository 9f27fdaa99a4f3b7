import type { ErpConfig } from '../../core/config/adapters-schema';
import type { AnyPluginDescriptor, PluginDescriptor } from '../../core/config/plugins';
import type { ErpAdapter } from '../../core/types';

/** The generic `erp:` keys an adapter may use besides its own block. */
export type ErpSettings = Pick<ErpConfig, 'timeoutMs' | 'returnWindowDays'>;

/**
 * One ERP adapter: its name (the value of `erp.driver`), the schema of its block `erp.<name>`,
 * and its factory. Registered with one line in adapters/erp/index.ts.
 */
export interface ErpDescriptor<Options = unknown> extends PluginDescriptor<Options> {
  create(options: Options, erp: ErpSettings): ErpAdapter | Promise<ErpAdapter>;
}

/** Any ERP descriptor, as the registry holds it: its factory takes what its own schema parsed. */
export type AnyErpDescriptor = AnyPluginDescriptor & {
  create(options: never, erp: ErpSettings): ErpAdapter | Promise<ErpAdapter>;
};

/** Types a descriptor's factory by its own schema's output. */
export const defineErp = <Options>(descriptor: ErpDescriptor<Options>): ErpDescriptor<Options> => descriptor;
