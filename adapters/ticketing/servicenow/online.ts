import type { OnlineCheckFor } from '../../../core/config/online';
import { ONLINE_REQUEST_TIMEOUT_MS, onlineContext, probe } from '../../online';
import { type ServiceNowOptions, ServiceNowTicketing } from './servicenow';

const CREDENTIALS = {
  basic: 'ticketing.servicenow.auth.username and password (SERVICENOW_PASSWORD)',
  oauth2:
    'ticketing.servicenow.auth.tokenUrl, clientId and clientSecret (System OAuth → Application Registry)',
  bearer: 'ticketing.servicenow.auth.token',
  none: 'ticketing.servicenow.auth',
};

/**
 * `hub validate --online`: with oauth2 a client-credentials token first, then one row (sys_id
 * only) of the configured table, which needs the same read access the adapter needs.
 */
export const checkServiceNowOnline: OnlineCheckFor<Omit<ServiceNowOptions, 'timeoutMs'>> = async (
  options,
  { signal },
) => {
  const servicenow = new ServiceNowTicketing({ ...options, timeoutMs: ONLINE_REQUEST_TIMEOUT_MS });
  const table = options.table ?? 'incident';
  const fixes = {
    credentials: CREDENTIALS[options.auth.type],
    url: 'ticketing.servicenow.instanceUrl (https://<instance>.service-now.com)',
  };
  await probe(`GET /api/now/table/${table}`, fixes, () => servicenow.readOneRow(onlineContext(signal)));
  const as =
    options.auth.type === 'oauth2'
      ? `an OAuth token for client ${options.auth.clientId}`
      : options.auth.type === 'basic'
        ? `user ${options.auth.username}`
        : 'a bearer token';
  return `table ${table} readable with ${as}`;
};
