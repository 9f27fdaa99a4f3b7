import { z } from 'zod';
import { defineHelpdesk } from '../descriptor';
import { genericWebhook } from '../webhook/inbound';
import { checkRtOnline } from './online';
import { RtTicketing } from './rt';

export { type RtOptions, RtTicketing } from './rt';

export const rtOptionsSchema = z
  .object({
    /** RT's web root, e.g. http://127.0.0.1:8080 (REST2 lives under /REST/2.0/). */
    baseUrl: z.string().url(),
    /** An RT auth token (Authorization: token ...), or user + password (basic auth). */
    token: z.string().optional(),
    username: z.string().optional(),
    password: z.string().optional(),
    queue: z.string().default('General'),
  })
  .refine((rt) => Boolean(rt.token) || Boolean(rt.username), {
    message: 'ticketing.rt needs token, or username and password',
  });

/** Request Tracker 5 (REST2). Its scrips post agents' updates to the generic receiver. */
export const rtHelpdesk = defineHelpdesk({
  name: 'rt',
  options: rtOptionsSchema,
  requires: 'set baseUrl and token (or username/password)',
  create: (options, { ticketing }) => new RtTicketing({ ...options, timeoutMs: ticketing.timeoutMs }),
  webhook: genericWebhook,
  online: checkRtOnline,
});
