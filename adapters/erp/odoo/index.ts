import { defineErp } from '../descriptor';
import { OdooErp } from './odoo';
import { checkOdooOnline } from './online';
import { odooErpOptionsSchema } from './options';

export { OdooErp } from './odoo';
export { type OdooErpConfig, odooErpOptionsSchema } from './options';

export const odooErp = defineErp({
  name: 'odoo',
  options: odooErpOptionsSchema,
  requires: 'set erp.odoo.baseUrl, db, login and apiKey',
  online: checkOdooOnline,
  create: (options, erp) => new OdooErp(options, erp),
});
