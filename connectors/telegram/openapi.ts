import { z } from 'zod';
import { errorResponse, platformWebhookDoc } from '../../core/http/route-doc';

/** `POST /webhooks/<id>` in the API description. */
export const telegramWebhookDoc = platformWebhookDoc({
  platform: 'Telegram',
  summary: 'Telegram Bot API updates (webhook mode)',
  headers: [
    {
      name: 'X-Telegram-Bot-Api-Secret-Token',
      description:
        "The channel's secretToken, given to Telegram in setWebhook; checked before the body is read",
      required: true,
    },
  ],
  responses: {
    200: {
      description: 'Update accepted, a duplicate, or ignored',
      schema: z.object({ ok: z.literal(true) }),
    },
    401: errorResponse('unauthorized: the secret token header is missing or wrong'),
  },
});
