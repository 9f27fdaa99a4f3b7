import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { ConnectorFactory } from '../../core/channels/types';
import { issueLines } from '../../core/resilience/zod-issues';
import { type InboundEvent, type OutboundMessage, renderAsText } from '../../core/types';
import { restMessageDoc, restRepliesDoc } from './openapi';
import { ReplyWaiter } from './reply-waiter';

const requestSchema = z.object({
  sender: z.string().trim().min(1).max(256),
  message: z.string().max(8000),
  /** Client-chosen id: a retried request with the same id is answered once, with the same replies. */
  message_id: z
    .string()
    .regex(/^[\w.:-]{1,128}$/)
    .optional(),
  locale: z.string().max(35).optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
});

/** The routes in the API description, from the schema the handler validates with. */
const messageDoc = restMessageDoc(requestSchema);
const repliesRoute = { config: { openapi: restRepliesDoc } };
const NOT_LIMITED = async () => {};

/** The REST channel's reply shape: one object per bot message, text always present. */
export function toRestReply(recipientId: string, message: OutboundMessage) {
  const content = message.content;
  return {
    recipient_id: recipientId,
    id: message.id,
    text: renderAsText(content),
    ...(content.type === 'choices'
      ? { buttons: content.choices.map((c) => ({ title: c.title, payload: c.id })) }
      : {}),
    ...(message.citations?.length ? { citations: message.citations } : {}),
    ...(message.locale ? { locale: message.locale } : {}),
    source: message.source,
  };
}

/**
 * `POST /webhooks/<id>` with `{"sender", "message"}` answers with the bot's replies, for
 * integrations and scripted tests. The answer is synchronous for the caller, but the turn still goes
 * through the bus like every channel's: the connector only publishes and waits.
 */
export const createRestConnector: ConnectorFactory = (ctx) => {
  const waiter = new ReplyWaiter(ctx.feed, ctx.store);
  const { id, tenant } = ctx.config;
  const limits = ctx.limits;
  // Per address before the body is read; per sender once it is parsed (security.rateLimits.rest).
  const messageRoute = {
    config: { openapi: messageDoc },
    onRequest: limits?.perAddress('rest.ip') ?? NOT_LIMITED,
  };
  const limitedRepliesRoute = { ...repliesRoute, onRequest: messageRoute.onRequest };
  return {
    id,
    type: 'rest',
    async register(app) {
      await waiter.start();
      app.post(`/webhooks/${id}`, messageRoute, async (request, reply) => {
        const parsed = requestSchema.safeParse(request.body);
        if (!parsed.success) {
          return reply.code(400).send({
            error: {
              code: 'rest.invalid_request',
              message: 'Expected a JSON body {"sender": string, "message": string, "message_id"?: string}',
              issues: issueLines(parsed.error, '').map(({ path, message }) => ({ path, message })),
            },
          });
        }
        const body = parsed.data;
        if (await limits?.refuse(request, reply, 'rest.sender', `${id}:${body.sender}`)) return reply;
        const idempotencyKey = body.message_id ?? request.headers['idempotency-key']?.toString();
        const event: InboundEvent = {
          id: `${id}:${body.sender}:${idempotencyKey ?? randomUUID()}`,
          kind: 'message',
          ref: { channel: id, tenant, conversation: body.sender },
          sender: { id: body.sender },
          receivedAt: new Date().toISOString(),
          text: body.message,
          locale: body.locale,
          addressedToBot: true,
          channelData: body.metadata ? { rest: body.metadata } : undefined,
          raw: request.body,
        };
        await ctx.accept(event);
        const replies = await waiter.wait(event.id, ctx.hub.server.replyTimeoutMs);
        // Sender ids may be any Unicode; a header value may not.
        reply.header('x-hub-event-id', encodeURIComponent(event.id));
        if (replies.length === 0) reply.code(202);
        return replies.map((message) => toRestReply(body.sender, message));
      });
      app.get<{ Params: { eventId: string } }>(
        `/webhooks/${id}/replies/:eventId`,
        limitedRepliesRoute,
        async (request) => {
          const replies = await ctx.store.repliesTo(request.params.eventId);
          return replies.map((message) => toRestReply(message.ref.conversation, message));
        },
      );
    },
    async close() {
      await waiter.stop();
    },
  };
};
