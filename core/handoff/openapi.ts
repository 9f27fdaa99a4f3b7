import { z } from 'zod';
import { errorResponse, INGRESS_UNAVAILABLE_RESPONSE, type RouteDoc } from '../http/route-doc';
import type { SignedHelpdeskWebhook } from './inbound';
import { helpdeskPayloadSchema } from './payload';

const outcomeSchema = z.object({
  status: z.enum(['accepted', 'duplicate', 'ignored']),
  eventId: z.string().optional().describe('The handoff event published for the conversation'),
  reason: z.string().optional().describe('Why an update was ignored, e.g. unknown_ticket'),
});

/** `POST /webhooks/helpdesk/<source>` in the API description: the documented update JSON, signed. */
export function helpdeskWebhookDoc(webhook: SignedHelpdeskWebhook): RouteDoc {
  return {
    summary: `A ${webhook.source} helpdesk change to a ticket the hub opened (agent reply, assignment, solved/closed)`,
    description:
      'The README (Handoff to a human) shows the body to send. Updates are published to the conversation and answered at once.',
    tags: ['helpdesk'],
    headers: (webhook.signatureHeaders ?? []).map((header) => ({ ...header, required: true })),
    body: { contentTypes: ['application/json'], schema: helpdeskPayloadSchema, required: true },
    responses: {
      200: { description: 'A repeat of an update already published', schema: outcomeSchema },
      202: { description: 'Published, or deliberately ignored (do not retry)', schema: outcomeSchema },
      400: errorResponse('helpdesk.bad_payload (the body does not match) or bad_request (not JSON)'),
      401: errorResponse('helpdesk.missing_headers, helpdesk.bad_signature or helpdesk.stale'),
      413: errorResponse('FST_ERR_CTP_BODY_TOO_LARGE: the body is over server.bodyLimitBytes'),
      415: errorResponse('FST_ERR_CTP_INVALID_MEDIA_TYPE: send application/json'),
      503: INGRESS_UNAVAILABLE_RESPONSE,
    },
  };
}
