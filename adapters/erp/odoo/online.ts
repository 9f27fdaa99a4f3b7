import type { OnlineCheckFor } from '../../../core/config/online';
import { onlineContext, probe } from '../../online';
import { onlineErpSettings } from '../online';
import { OdooErp } from './odoo';
import type { OdooErpConfig } from './options';

const FIXES = {
  credentials: 'erp.odoo.db, login and apiKey (ODOO_API_KEY; Preferences → Account Security → New API Key)',
  url: 'erp.odoo.baseUrl (the Odoo web root; JSON-RPC answers at /jsonrpc)',
};

/** `hub validate --online`: common.authenticate must give a uid (false: wrong database, login or key). */
export const checkOdooOnline: OnlineCheckFor<OdooErpConfig> = async (options, { signal }) => {
  const odoo = new OdooErp(options, onlineErpSettings);
  const uid = await probe('common.authenticate', FIXES, () => odoo.authenticate(onlineContext(signal)));
  return `${options.login} on database ${options.db} (uid ${uid})`;
};
