import { errorResponse, platformWebhookDoc } from '../../core/http/route-doc';

/** `POST /webhooks/<id>`: Bot Framework activities. */
export const teamsWebhookDoc = platformWebhookDoc({
  platform: 'The Bot Framework (Microsoft Teams)',
  summary: 'Microsoft Teams activities from the Bot Connector',
  description:
    'An invoke (Action.Execute) gets its invoke response in this answer; other activities are acknowledged at once.',
  headers: [
    {
      name: 'Authorization',
      description:
        "Bearer <the Bot Connector's JWT>; checked against its OpenID keys before the body is read",
      required: true,
    },
  ],
  responses: {
    200: { description: 'Activity accepted, a duplicate, or ignored; for an invoke, its invoke response' },
    401: errorResponse('teams.<reason>: token missing, invalid, or not for this bot'),
    403: errorResponse('teams.tenant_not_allowed or teams.service_url_not_allowed'),
    503: errorResponse('teams.keys_unavailable (OpenID keys unreadable) or ingress.unavailable; send again'),
  },
});
