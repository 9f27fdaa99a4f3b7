import { createErp, erpConfigSchema } from '../../adapters/erp';
import type { OdooErpConfig } from '../../adapters/erp/odoo';
import type { SapErpConfig } from '../../adapters/erp/sap';
import type { ShopifyErpConfig } from '../../adapters/erp/shopify';
import type { ErpConfig } from '../../core/config/adapters-schema';
import type { AdapterCallContext, AdapterError, ErpAdapter } from '../../core/types';

/** The call context of an adapter call made under `idempotencyKey`. */
export const callCtx = (idempotencyKey: string): AdapterCallContext => ({
  tenant: 'default',
  idempotencyKey,
});

/** The error a call rejects with; a call that succeeds fails the test. */
export function failure(promise: Promise<unknown>): Promise<AdapterError> {
  return promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (error: unknown) => error as AdapterError,
  );
}

type HttpErpDriver = 'odoo' | 'sap' | 'shopify';

/** The `erp:` section with the HTTP drivers' blocks as their descriptors parse them. */
type ErpConfigWithBlocks = ErpConfig & {
  odoo?: OdooErpConfig;
  sap?: SapErpConfig;
  shopify?: ShopifyErpConfig;
};

/**
 * Config and adapter factories for one ERP driver's tests: `defaults` (read when called, so it
 * can name an emulator started in beforeAll) are the driver's block, a test's overrides go over
 * them, and `timeoutMs` is erp.timeoutMs.
 */
export function erpUnderTest<A extends ErpAdapter>(
  driver: HttpErpDriver,
  defaults: () => Record<string, unknown>,
) {
  const config = (overrides: Record<string, unknown> = {}, timeoutMs = 5_000): ErpConfigWithBlocks =>
    erpConfigSchema.parse({ driver, timeoutMs, [driver]: { ...defaults(), ...overrides } });
  const erp = async (overrides?: Record<string, unknown>, timeoutMs?: number) =>
    (await createErp(config(overrides, timeoutMs))) as A;
  return { config, erp };
}
