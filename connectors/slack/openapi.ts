import { errorResponse, platformWebhookDoc } from '../../core/http/route-doc';

/** `POST /webhooks/<id>` (Events API over HTTP; not registered in Socket Mode). */
export const slackWebhookDoc = platformWebhookDoc({
  platform: 'Slack',
  summary: 'Slack Events API callbacks and interactive payloads (button taps)',
  description:
    'Events arrive as JSON; block actions as a form with a `payload` field. A url_verification event is answered with its challenge.',
  contentTypes: ['application/json', 'application/x-www-form-urlencoded'],
  headers: [
    {
      name: 'X-Slack-Signature',
      description: 'v0=<HMAC-SHA256 of v0:<timestamp>:<raw body>>',
      required: true,
    },
    {
      name: 'X-Slack-Request-Timestamp',
      description: 'Unix seconds; too far from now is refused as a replay',
      required: true,
    },
  ],
  responses: {
    200: { description: 'Accepted, a duplicate, ignored, or the url_verification challenge (text/plain)' },
    401: errorResponse('slack.<reason>: signature or timestamp missing, stale or wrong'),
  },
});
