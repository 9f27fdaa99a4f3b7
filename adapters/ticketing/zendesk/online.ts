import type { OnlineCheckFor } from '../../../core/config/online';
import { AdapterErrorCodes } from '../../../core/types';
import { HubError } from '../../../core/types/errors';
import { ONLINE_REQUEST_TIMEOUT_MS, onlineContext, probe } from '../../online';
import { type ZendeskOptions, ZendeskTicketing } from './zendesk';

const FIXES = {
  credentials:
    'ticketing.zendesk.email and apiToken (ZENDESK_API_TOKEN; Admin Center → Apps and integrations → Zendesk API)',
  url: 'ticketing.zendesk.baseUrl (https://<subdomain>.zendesk.com)',
};

/** `hub validate --online`: GET /api/v2/users/me must name an agent or an admin, not the anonymous user. */
export const checkZendeskOnline: OnlineCheckFor<Omit<ZendeskOptions, 'timeoutMs'>> = async (
  options,
  { signal },
) => {
  const zendesk = new ZendeskTicketing({ ...options, timeoutMs: ONLINE_REQUEST_TIMEOUT_MS });
  const what = 'GET /api/v2/users/me';
  const user = await probe(what, FIXES, () => zendesk.currentUser(onlineContext(signal)));
  if (user.id === null || user.id === undefined) {
    throw new HubError(
      AdapterErrorCodes.auth,
      `${what}: Zendesk answered as the anonymous user, so it did not take the credentials. Fix: check ${FIXES.credentials}, and that token access is on.`,
    );
  }
  if (user.role === 'end-user') {
    throw new HubError(
      AdapterErrorCodes.auth,
      `${what}: ${user.email ?? user.name} is an end user, who cannot file tickets for others. Fix: use an agent's or an admin's e-mail in ticketing.zendesk.email.`,
    );
  }
  return `${user.role ?? 'user'} ${user.email ?? user.name ?? user.id}`;
};
