import { z } from 'zod';
import { errorResponse, platformWebhookDoc, type RouteDoc } from '../../core/http/route-doc';

/** `GET /webhooks/<id>`: Meta's subscription handshake. */
export const whatsappVerificationDoc: RouteDoc = {
  summary: "Meta's webhook verification handshake (WhatsApp Cloud API)",
  tags: ['webhooks'],
  query: z.object({
    'hub.mode': z.literal('subscribe'),
    'hub.verify_token': z.string().describe("The channel's verifyToken"),
    'hub.challenge': z.string().describe('Echoed back'),
  }),
  responses: {
    200: { description: 'hub.challenge, echoed', schema: z.string(), contentType: 'text/plain' },
    403: errorResponse('whatsapp.verify_token: wrong hub.verify_token or hub.mode'),
  },
};

/** `POST /webhooks/<id>`: signed notifications. */
export const whatsappWebhookDoc = platformWebhookDoc({
  platform: 'Meta (WhatsApp Cloud API)',
  summary: 'WhatsApp Cloud API notifications: messages and delivery statuses',
  headers: [
    {
      name: 'X-Hub-Signature-256',
      description: 'sha256=<HMAC-SHA256 of the raw body with the app secret>',
      required: true,
    },
  ],
  responses: {
    200: { description: 'Notification accepted, a duplicate, or ignored' },
    401: errorResponse('whatsapp.bad_signature: X-Hub-Signature-256 is missing or wrong'),
  },
});
