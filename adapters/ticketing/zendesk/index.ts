import { z } from 'zod';
import { defineHelpdesk } from '../descriptor';
import { zendeskWebhook } from './inbound';
import { checkZendeskOnline } from './online';
import { ZendeskTicketing } from './zendesk';

export { signZendesk, verifyZendeskSignature, zendeskWebhook } from './inbound';
export { type ZendeskOptions, ZendeskTicketing } from './zendesk';

export const zendeskOptionsSchema = z.object({
  /** https://<subdomain>.zendesk.com */
  baseUrl: z.string().url(),
  /** API token auth: `{email}/token:{apiToken}`. */
  email: z.string().min(1),
  apiToken: z.string().min(1),
});

export const zendeskHelpdesk = defineHelpdesk({
  name: 'zendesk',
  options: zendeskOptionsSchema,
  requires: 'set baseUrl, email, apiToken',
  create: (options, { ticketing }) => new ZendeskTicketing({ ...options, timeoutMs: ticketing.timeoutMs }),
  webhook: zendeskWebhook,
  online: checkZendeskOnline,
});
