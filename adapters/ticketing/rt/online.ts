import type { OnlineCheckFor } from '../../../core/config/online';
import { AdapterErrorCodes } from '../../../core/types';
import { HubError } from '../../../core/types/errors';
import { ONLINE_REQUEST_TIMEOUT_MS, onlineContext, probe } from '../../online';
import { type RtOptions, RtTicketing } from './rt';

const FIXES = {
  credentials:
    'ticketing.rt.token (RT_TOKEN; RT → Logged in as → Settings → Auth Tokens) or username and password',
  url: 'ticketing.rt.baseUrl (the web root; REST 2.0 answers under /REST/2.0/)',
};

/** `hub validate --online`: GET /REST/2.0/queues/all must list the queue tickets are filed in. */
export const checkRtOnline: OnlineCheckFor<Omit<RtOptions, 'timeoutMs'>> = async (options, { signal }) => {
  const rt = new RtTicketing({ ...options, timeoutMs: ONLINE_REQUEST_TIMEOUT_MS });
  const what = 'GET /REST/2.0/queues/all';
  const queues = await probe(what, FIXES, () => rt.visibleQueues(onlineContext(signal)));
  if (!queues.includes(options.queue)) {
    throw new HubError(
      AdapterErrorCodes.invalid,
      `${what}: queue "${options.queue}" is not among the queues this user sees (${queues.join(', ') || 'none'}). Fix: set ticketing.rt.queue to one of them, or grant the user SeeQueue and CreateTicket on it.`,
    );
  }
  return `queue ${options.queue} (${queues.length} visible)`;
};
