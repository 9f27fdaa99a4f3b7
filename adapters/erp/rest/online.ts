import type { OnlineCheckFor } from '../../../core/config/online';
import { onlineContext, probe } from '../../online';
import { onlineErpSettings } from '../online';
import type { RestErpConfig } from './options';
import { RestErp } from './rest';

/**
 * `hub validate --online`: a GET of `checkPath` with the configured auth (an OAuth2 token first);
 * skipped without one, since the order URLs need a real order id.
 */
export const checkRestErpOnline: OnlineCheckFor<RestErpConfig> = async (options, { signal }) => {
  const checkPath = options.checkPath;
  if (!checkPath) return { skipped: 'no erp.rest.checkPath to call' };
  const erp = new RestErp(options, onlineErpSettings);
  // A query string may carry a key: the report names the path only.
  const shown = `GET ${checkPath.split('?')[0]}`;
  const fixes = {
    credentials: `erp.rest.auth (type ${options.auth.type})`,
    url: 'erp.rest.baseUrl and checkPath',
  };
  await probe(shown, fixes, () => erp.checkConnection(checkPath, onlineContext(signal)));
  return `${shown} answered with auth ${options.auth.type}`;
};
