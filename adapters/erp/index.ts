import type { ErpConfig } from '../../config/adapters-schema';
import type { ErpAdapter } from '../../core/types';
import { DemoErp } from './demo';
import { RestErp } from './rest';

export { DemoErp } from './demo';
export { RestErp } from './rest';

type Factory = (config: ErpConfig) => Promise<ErpAdapter>;

/** ERPs by driver name: a new one is one file plus one line here. */
export const erpFactories: Record<ErpConfig['driver'], Factory> = {
  demo: (config) => DemoErp.load(config.demo.file, { returnWindowDays: config.returnWindowDays }),
  rest: async (config) => new RestErp(config.rest as NonNullable<ErpConfig['rest']>, config),
};

export function createErp(config: ErpConfig): Promise<ErpAdapter> {
  return erpFactories[config.driver](config);
}
