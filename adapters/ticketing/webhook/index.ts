import { z } from 'zod';
import { defineHelpdesk } from '../descriptor';
import { genericWebhook } from './inbound';
import { WebhookTicketing } from './webhook';

export { genericWebhook, signGeneric, verifyGenericSignature } from './inbound';
export { UNSUPPORTED, WebhookTicketing, type WebhookTicketingOptions } from './webhook';

export const webhookTicketingOptionsSchema = z.object({
  /** Where new tickets are POSTed; the answer {id, url?} names the ticket. */
  url: z.string().url(),
  /** HMAC-SHA256 key of X-Hub-Signature-256 (over "<X-Hub-Timestamp>.<body>"). */
  secret: z.string().min(16, 'ticketing.webhook.secret needs at least 16 characters'),
  /** URL templates, {id} filled in: POST a comment, GET a ticket, POST a status. Unset: unsupported. */
  commentUrl: z.string().url().optional(),
  ticketUrl: z.string().url().optional(),
  statusUrl: z.string().url().optional(),
});

/** Any helpdesk or workflow tool that takes a signed webhook, and answers on the generic receiver. */
export const webhookHelpdesk = defineHelpdesk({
  name: 'webhook',
  options: webhookTicketingOptionsSchema,
  requires: 'set url and secret',
  create: (options, { ticketing }) => new WebhookTicketing({ ...options, timeoutMs: ticketing.timeoutMs }),
  webhook: genericWebhook,
  online: { skipped: 'a signed webhook has no read API to ask' },
});
