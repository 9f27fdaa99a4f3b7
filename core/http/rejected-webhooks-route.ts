import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { RejectedWebhookStore } from '../channels/rejected-webhooks';
import { requireAdmin } from './admin-auth';
import { errorResponse, type RouteDoc } from './route-doc';

const querySchema = z.object({
  channel: z.string().min(1).max(200).optional().describe('Only this channel id'),
  limit: z.coerce.number().int().min(1).max(1000).default(100).describe('At most this many, newest first'),
});

const rejectedSchema = z.object({
  id: z.string(),
  channel: z.string(),
  reason: z
    .string()
    .describe('Why it could not be read: invalid_event, normalize_failed, request.json_too_deep, …'),
  receivedAt: z.string(),
  body: z.string().describe('The body as received, control characters removed, cut at 8 KiB'),
  bodyBytes: z.number().int(),
  truncated: z.boolean(),
});

export const rejectedWebhooksDoc: RouteDoc = {
  summary: 'Signed webhook requests the hub acknowledged but could not read, newest first',
  description:
    'A platform request with a valid signature whose payload no connector could turn into an event is answered 200 (so the platform stops resending it), counted in hub_webhook_rejected_total and kept here; the newest 1000 are kept.',
  tags: ['admin'],
  admin: true,
  query: querySchema,
  responses: {
    200: { description: 'Newest first', schema: z.array(rejectedSchema) },
    400: errorResponse('admin.invalid_query: a limit that is not 1-1000'),
  },
};

/** `GET /admin/webhooks/rejected[?channel=<id>&limit=<n>]` for operators (channels.manage). */
export function registerRejectedWebhooksRoute(app: FastifyInstance, store: RejectedWebhookStore): void {
  app.get(
    '/admin/webhooks/rejected',
    { onRequest: requireAdmin, config: { permission: 'channels.manage', openapi: rejectedWebhooksDoc } },
    async (request, reply) => {
      const parsed = querySchema.safeParse(request.query);
      if (!parsed.success) {
        return reply.code(400).send({
          error: { code: 'admin.invalid_query', message: 'limit must be 1-1000; channel a channel id' },
        });
      }
      return store.list(parsed.data);
    },
  );
}
