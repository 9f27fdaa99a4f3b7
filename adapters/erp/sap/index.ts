import { defineErp } from '../descriptor';
import { checkSapOnline } from './online';
import { sapErpOptionsSchema } from './options';
import { SapErp } from './sap';

export { type SapErpConfig, sapErpOptionsSchema } from './options';
export { SapErp } from './sap';

export const sapErp = defineErp({
  name: 'sap',
  options: sapErpOptionsSchema,
  requires: 'set erp.sap.baseUrl and auth (basic or oauth2)',
  online: checkSapOnline,
  create: (options, erp) => new SapErp(options, erp),
});
