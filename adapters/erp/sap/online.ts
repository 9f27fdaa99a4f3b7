import type { OnlineCheckFor } from '../../../core/config/online';
import { AdapterErrorCodes } from '../../../core/types';
import { HubError } from '../../../core/types/errors';
import { onlineContext, probe } from '../../online';
import { onlineErpSettings } from '../online';
import type { SapErpConfig } from './options';
import { SapErp } from './sap';

/**
 * `hub validate --online`: API_SALES_ORDER_SRV's `$metadata` with the configured auth (and
 * sap-client), which must describe the A_SalesOrder entity set the adapter reads.
 */
export const checkSapOnline: OnlineCheckFor<SapErpConfig> = async (options, { signal }) => {
  const sap = new SapErp(options, onlineErpSettings);
  const what = 'GET API_SALES_ORDER_SRV/$metadata';
  const fixes = {
    credentials:
      options.auth.type === 'oauth2'
        ? 'erp.sap.auth.tokenUrl, clientId and clientSecret'
        : 'erp.sap.auth.username and password (SAP_PASSWORD; the communication user), and erp.sap.client',
    url: `erp.sap.baseUrl and servicePath (now ${options.servicePath}), and that the communication arrangement includes API_SALES_ORDER_SRV`,
  };
  const metadata = await probe(what, fixes, () => sap.salesOrderMetadata(onlineContext(signal)));
  if (!/<EntitySet\b[^>]*\bName="A_SalesOrder"/.test(metadata)) {
    throw new HubError(
      AdapterErrorCodes.invalid,
      `${what}: the answer does not describe the A_SalesOrder entity set. Fix: check ${fixes.url}.`,
    );
  }
  const entitySets = metadata.match(/<EntitySet\b/g)?.length ?? 0;
  return `API_SALES_ORDER_SRV metadata, ${entitySets} entity sets`;
};
