import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { cleanText } from '../../core/channels/clean-text';
import type { ConnectorFactory } from '../../core/channels/types';
import { issueLines } from '../../core/resilience/zod-issues';
import { conversationKey, type InboundEvent, type OutboundMessage, renderAsText } from '../../core/types';
import { parseChannelOptions } from '../shared/options';
import { authenticateRest, type RestCaller } from './auth';
import { restMessageDoc, restRepliesDoc } from './openapi';
import { restOptionHints, restOptionsSchema } from './options';
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
 * The event id of a message: a key's messages carry the key id, so no other caller can collide with
 * them (dedupe would hand it their replies) or fetch their replies; the key id has no ':'.
 */
function eventIdOf(channelId: string, caller: RestCaller, sender: string, idempotencyKey: string): string {
  return caller.kind === 'key'
    ? `${channelId}:${caller.keyId}:${sender}:${idempotencyKey}`
    : `${channelId}:${sender}:${idempotencyKey}`;
}

/** Whether a caller may read an event's replies: its own key's events, in its own tenant. */
function mayRead(
  channelId: string,
  caller: RestCaller,
  eventId: string,
  replies: OutboundMessage[],
): boolean {
  if (caller.kind === 'key' && !eventId.startsWith(`${channelId}:${caller.keyId}:`)) return false;
  return replies.every((message) => message.ref.tenant === caller.tenant);
}

/**
 * `POST /webhooks/<id>` with `{"sender", "message"}` answers with the bot's replies, for
 * integrations and scripted tests. The answer is synchronous for the caller, but the turn still goes
 * through the bus like every channel's: the connector only publishes and waits.
 */
export const createRestConnector: ConnectorFactory = (ctx) => {
  const options = parseChannelOptions(ctx, restOptionsSchema, restOptionHints);
  const waiter = new ReplyWaiter(ctx.feed, ctx.store, ctx.logger);
  const { id } = ctx.config;
  if (options.auth === 'none') {
    ctx.logger.warn(
      'REST channel with auth: none: clients on this machine need no API key (local development only)',
    );
  }
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
        const caller = await authenticateRest(ctx, options, request, reply);
        if (!caller) return reply;
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
        // The ingress cleans every string of the event (core/channels/clean-text.ts); the sender is
        // cleaned here already, because the event id and the conversation the replies are awaited
        // on are built from it.
        const body = { ...parsed.data, sender: cleanText(parsed.data.sender).trim() };
        if (!body.sender) {
          return reply.code(400).send({
            error: {
              code: 'rest.invalid_request',
              message: 'sender has no printable characters',
              issues: [{ path: 'sender', message: 'only control characters' }],
            },
          });
        }
        if (await limits?.refuse(request, reply, 'rest.sender', `${id}:${body.sender}`)) return reply;
        const idempotencyKey = body.message_id ?? request.headers['idempotency-key']?.toString();
        const event: InboundEvent = {
          id: eventIdOf(id, caller, body.sender, idempotencyKey ?? randomUUID()),
          kind: 'message',
          // A key speaks for its tenant only: the same sender under another key is another customer.
          ref: { channel: id, tenant: caller.tenant, conversation: body.sender },
          sender: { id: body.sender },
          receivedAt: new Date().toISOString(),
          text: body.message,
          locale: body.locale,
          addressedToBot: true,
          channelData: body.metadata ? { rest: body.metadata } : undefined,
          raw: request.body,
        };
        // Only replies to this request's own conversation: an event id that collides with another
        // caller's (a local sender spelled like a key's event) never hands over that caller's answer.
        const replies = (
          await waiter.wait(event.id, ctx.hub.server.replyTimeoutMs, () => ctx.accept(event))
        ).filter((message) => conversationKey(message.ref) === conversationKey(event.ref));
        // Sender ids may be any Unicode; a header value may not.
        reply.header('x-hub-event-id', encodeURIComponent(event.id));
        if (replies.length === 0) reply.code(202);
        return replies.map((message) => toRestReply(body.sender, message));
      });
      app.get<{ Params: { eventId: string } }>(
        `/webhooks/${id}/replies/:eventId`,
        limitedRepliesRoute,
        async (request, reply) => {
          const caller = await authenticateRest(ctx, options, request, reply);
          if (!caller) return reply;
          const { eventId } = request.params;
          const replies = await ctx.store.repliesTo(eventId);
          if (!mayRead(id, caller, eventId, replies)) {
            // Whether another key's event exists is not confirmed: 404 whether it does or not.
            return reply.code(404).send({
              error: { code: 'rest.not_found', message: 'No message with this id was posted with this key.' },
            });
          }
          return replies.map((message) => toRestReply(message.ref.conversation, message));
        },
      );
    },
    async close() {
      await waiter.stop();
    },
  };
};
