import type { OnlineCheckFor } from '../../../core/config/online';
import { AdapterErrorCodes } from '../../../core/types';
import { HubError } from '../../../core/types/errors';
import { ONLINE_REQUEST_TIMEOUT_MS, onlineContext, probe } from '../../online';
import { type JiraSmOptions, JiraSmTicketing } from './jira-sm';

const FIXES = {
  credentials:
    'ticketing.jiraSm.email and apiToken (JIRA_API_TOKEN; id.atlassian.com → Security → API tokens)',
  url: 'ticketing.jiraSm.baseUrl (https://<site>.atlassian.net)',
};

/** `hub validate --online`: GET /rest/api/3/myself names the account the e-mail and API token belong to. */
export const checkJiraSmOnline: OnlineCheckFor<Omit<JiraSmOptions, 'timeoutMs'>> = async (
  options,
  { signal },
) => {
  const jira = new JiraSmTicketing({ ...options, timeoutMs: ONLINE_REQUEST_TIMEOUT_MS });
  const what = 'GET /rest/api/3/myself';
  const user = await probe(what, FIXES, () => jira.currentUser(onlineContext(signal)));
  if (user.active === false) {
    throw new HubError(
      AdapterErrorCodes.auth,
      `${what}: the account ${user.emailAddress ?? user.accountId} is deactivated. Fix: reactivate it or use another account's e-mail and API token.`,
    );
  }
  return `account ${user.displayName ?? user.accountId}${user.emailAddress ? ` <${user.emailAddress}>` : ''}`;
};
