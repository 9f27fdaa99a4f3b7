import type { OnlineCheckFor } from '../../../core/config/online';
import { ONLINE_REQUEST_TIMEOUT_MS, onlineContext, probe } from '../../online';
import { type FreshdeskOptions, FreshdeskTicketing } from './freshdesk';

const FIXES = {
  credentials: 'ticketing.freshdesk.apiKey (FRESHDESK_API_KEY; Profile settings → View API key)',
  url: 'ticketing.freshdesk.baseUrl (https://<domain>.freshdesk.com)',
};

/** `hub validate --online`: GET /api/v2/agents/me names the agent whose API key this is. */
export const checkFreshdeskOnline: OnlineCheckFor<Omit<FreshdeskOptions, 'timeoutMs'>> = async (
  options,
  { signal },
) => {
  const freshdesk = new FreshdeskTicketing({ ...options, timeoutMs: ONLINE_REQUEST_TIMEOUT_MS });
  const agent = await probe('GET /api/v2/agents/me', FIXES, () =>
    freshdesk.currentAgent(onlineContext(signal)),
  );
  return `agent ${agent.contact?.email ?? agent.contact?.name ?? agent.id}`;
};
