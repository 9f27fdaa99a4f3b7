import { z } from 'zod';
import {
  errorResponse,
  INGRESS_UNAVAILABLE_RESPONSE,
  RATE_LIMITED_RESPONSE,
  type RouteDoc,
} from '../../core/http/route-doc';

/** One bot message as the REST channel answers it (connector.ts `toRestReply`). */
const restReplySchema = z.object({
  recipient_id: z.string(),
  id: z.string(),
  text: z.string().describe('The message as text; buttons are listed in it too'),
  buttons: z
    .array(z.object({ title: z.string(), payload: z.string() }))
    .optional()
    .describe('Choices the customer can pick; send the payload as the next message'),
  citations: z
    .array(z.object({ id: z.string(), title: z.string(), source: z.string(), url: z.string().optional() }))
    .optional(),
  locale: z.string().optional(),
  source: z.enum(['llm', 'extractive', 'flow', 'system', 'agent']).optional(),
});
const repliesSchema = z.array(restReplySchema);
const EVENT_ID_HEADER = {
  name: 'x-hub-event-id',
  description: 'The event id (URI-encoded); GET /webhooks/<id>/replies/<eventId> finds the replies later',
};

const AUTHORIZATION_HEADER = {
  name: 'Authorization',
  description:
    'Bearer <API key> (hub keys create --tenant <t> --name <n>). Optional only on a channel with auth: none, for clients on the hub machine.',
};
const UNAUTHENTICATED = errorResponse(
  'rest.unauthenticated: no key, or a key that is unknown or revoked (a channel with auth: none answers clients on the hub machine without one)',
);

/** `POST /webhooks/<id>`, with the request schema the handler validates with. */
export function restMessageDoc(requestSchema: z.ZodType): RouteDoc {
  return {
    summary: "Send a customer's message; the answer carries the bot's replies",
    description:
      "The turn goes through the bus like every channel. A retried request with the same message_id (or Idempotency-Key) is answered once, with the same replies. The sender is a customer of the key's tenant.",
    tags: ['channels'],
    headers: [
      AUTHORIZATION_HEADER,
      { name: 'Idempotency-Key', description: 'Used as the message id when the body has no message_id' },
    ],
    body: { contentTypes: ['application/json'], schema: requestSchema, required: true },
    responses: {
      200: { description: "The bot's replies", schema: repliesSchema, headers: [EVENT_ID_HEADER] },
      202: {
        description:
          'Accepted, but no reply within server.replyTimeoutMs (or the database is out); poll the replies route',
        schema: repliesSchema,
        headers: [EVENT_ID_HEADER],
      },
      400: errorResponse(
        'rest.invalid_request, with each invalid field in issues; or a body that is not JSON',
      ),
      401: UNAUTHENTICATED,
      413: errorResponse('FST_ERR_CTP_BODY_TOO_LARGE: the body is over server.bodyLimitBytes'),
      429: RATE_LIMITED_RESPONSE,
      503: {
        description: `${INGRESS_UNAVAILABLE_RESPONSE.description}; or ingress.busy: the tenant's queue is over bus.admission's limits. Either way the message was not accepted: send it again (after Retry-After seconds, when given)`,
        schema: INGRESS_UNAVAILABLE_RESPONSE.schema,
        headers: [
          { name: 'retry-after', description: 'Seconds to wait before sending again (ingress.busy)' },
        ],
      },
    },
  };
}

export const restRepliesDoc: RouteDoc = {
  summary: 'The replies stored for an event so far (after a 202)',
  description: 'Only the key that posted the message reads its replies.',
  tags: ['channels'],
  headers: [AUTHORIZATION_HEADER],
  params: z.object({ eventId: z.string().describe('The x-hub-event-id of the POST, decoded') }),
  responses: {
    200: { description: 'Replies, oldest first; empty while none', schema: repliesSchema },
    401: UNAUTHENTICATED,
    404: errorResponse('rest.not_found: the event was not posted with this key'),
    429: RATE_LIMITED_RESPONSE,
  },
};
