import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { RawData, WebSocket } from 'ws';
import { z } from 'zod';
import type { ChannelContext, Connector, ConnectorFactory } from '../../core/channels/types';
import { errors } from '../../core/metrics';
import { issueLines } from '../../core/resilience/zod-issues';
import { clientAddress } from '../../core/security/access-limits';
import { SessionTokens } from '../../core/security/session-tokens';
import {
  type ConversationRef,
  conversationKey,
  HubError,
  isRetryable,
  type OutboundMessage,
} from '../../core/types';
import { preferredLocale, toHistory, toInboundEvent } from './normalize';
import { webchatAssetDoc, webchatPageDoc, webchatSocketDoc } from './openapi';
import { loadWidget, type WidgetPage } from './page';
import { parseClientFrame, SESSION_PATTERN, type ServerFrame } from './protocol';
import { SessionHub } from './sessions';

export const webchatOptionsSchema = z.object({
  title: z.string().min(1).max(80).optional(),
  typingTimeoutMs: z.coerce.number().int().positive().default(30_000),
  historyLimit: z.coerce.number().int().min(0).max(200).default(50),
  embedOrigins: z
    .array(
      z
        .string()
        .regex(/^(https?:\/\/[^\s;,']+|'self')$/, "use origins like https://shop.example.com or 'self'"),
    )
    .default([]),
  /** Frames per socket per 10 s; a person does not type faster. */
  maxFramesPer10s: z.coerce.number().int().positive().default(20),
  /** How long a session token stays valid; a browser that reconnects in the second half gets a fresh one. */
  sessionTtlHours: z.coerce.number().positive().max(8760).default(168),
});

type WebchatOptions = z.infer<typeof webchatOptionsSchema>;

function parseOptions(context: ChannelContext): WebchatOptions {
  const parsed = webchatOptionsSchema.safeParse(context.config);
  if (parsed.success) return parsed.data;
  const issue = issueLines(parsed.error, '')[0];
  throw new HubError(
    'config.invalid',
    `channel "${context.config.id}" (webchat): ${issue?.path}: ${issue?.message}; fix it in the channels section of the hub config`,
    { status: 500 },
  );
}

const toBuffer = (data: RawData): Buffer =>
  Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);

function frameLimiter(perWindow: number, windowMs = 10_000): () => boolean {
  let windowStart = 0;
  let count = 0;
  return () => {
    const now = Date.now();
    if (now - windowStart >= windowMs) {
      windowStart = now;
      count = 0;
    }
    count += 1;
    return count <= perWindow;
  };
}

export const createWebchatConnector: ConnectorFactory = (context) => {
  const options = parseOptions(context);
  const channelId = context.config.id;
  const tenant = context.config.tenant;
  const prefix = `/webchat/${channelId}`;
  const sessions = new SessionHub({
    typingTimeoutMs: options.typingTimeoutMs,
    maxSocketsPerSession: 8,
    heartbeatMs: 30_000,
  });
  let unsubscribe: (() => Promise<void>) | undefined;
  const tokens = context.access?.sessionTokens ?? SessionTokens.ephemeral();
  const sessionTtlMs = options.sessionTtlHours * 3_600_000;

  const sendTo = (socket: WebSocket, frame: ServerFrame): void => {
    if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(frame));
  };

  const relay = (message: OutboundMessage): void => {
    if (message.ref.channel !== channelId || message.ref.tenant !== tenant) return;
    const session = message.ref.conversation;
    if (message.content.type === 'typing') {
      sessions.typingOn(session);
      return;
    }
    sessions.settle(session);
    // A turn's reply says who owns the conversation now; other notices (the busy notice) do not.
    if (message.inReplyTo) sessions.setWithPerson(session, message.handoff !== undefined);
    // The feed's bookkeeping (its place among the turn's replies) is not the browser's business.
    const { turnReplies: _place, ...reply } = message;
    sessions.send(session, { type: 'reply', message: reply });
  };

  interface SocketState {
    socket: WebSocket;
    ref: ConversationRef;
    locale: string | undefined;
    allowFrame: () => boolean;
    address: string;
  }

  const socketRoute = `${prefix}/ws`;
  /** Over security.rateLimits.webchat: a polite error frame; the widget resends after retryAfterMs. */
  async function overMessageLimit({ socket, ref, address }: SocketState, id: string): Promise<boolean> {
    const limits = context.limits;
    if (!limits) return false;
    const session = await limits.take('webchat.session', `${channelId}:${ref.conversation}`, socketRoute);
    const verdict = session.limited ? session : await limits.take('webchat.ip', address, socketRoute);
    if (!verdict.limited) return false;
    sendTo(socket, {
      type: 'error',
      code: 'rate_limited',
      id,
      retryable: true,
      retryAfterMs: verdict.retryAfterSeconds * 1000,
      message: `You are sending messages faster than we can answer. Please wait ${verdict.retryAfterSeconds} seconds; your message will be sent then.`,
    });
    return true;
  }

  async function handleFrame(state: SocketState, data: Buffer, isBinary: boolean) {
    const { socket, ref, locale, allowFrame } = state;
    const parsed = parseClientFrame(data, isBinary);
    // Parsed first so a throttled message's id goes back and the widget knows what to resend.
    if (!allowFrame()) {
      const id = parsed.ok ? { id: parsed.frame.id } : {};
      return sendTo(socket, {
        type: 'error',
        code: 'rate_limited',
        ...id,
        retryable: true,
        message: 'slow down',
      });
    }
    if (!parsed.ok) {
      errors.inc({ stage: 'ingress', code: `webchat.${parsed.error.code}` });
      return sendTo(socket, parsed.error);
    }
    const frame = parsed.frame;
    if (await overMessageLimit(state, frame.id)) return;
    const event = toInboundEvent(frame, ref, locale);
    try {
      const result = await context.accept(event);
      sendTo(socket, { type: 'ack', id: frame.id, duplicate: !result.accepted });
      if (result.accepted) sessions.typingOn(ref.conversation);
    } catch (error) {
      context.logger.error({ err: error, channel: channelId, eventId: event.id }, 'webchat publish failed');
      const message = 'the message could not be accepted; it will be retried';
      sendTo(socket, {
        type: 'error',
        code: 'publish_failed',
        id: frame.id,
        retryable: isRetryable(error),
        message,
      });
    }
  }

  async function sendHistory(socket: WebSocket, ref: ConversationRef): Promise<void> {
    if (options.historyLimit === 0) return sendTo(socket, { type: 'history', entries: [] });
    try {
      const entries = await context.store.transcript(conversationKey(ref), { limit: options.historyLimit });
      const history = toHistory(entries);
      // After a restart the hub learns from the transcript whether this customer waits for a person.
      const last = history.findLast((entry) => entry.direction === 'out' && entry.message.inReplyTo);
      if (last?.direction === 'out')
        sessions.setWithPerson(ref.conversation, last.message.handoff !== undefined);
      sendTo(socket, { type: 'history', entries: history });
    } catch (error) {
      context.logger.warn({ err: error, channel: channelId }, 'webchat history unavailable');
    }
  }

  /**
   * The conversation a socket may join: a new one the hub names (no `session` in the query), or the
   * one its token was issued for. A session id alone proves nothing: ids leak (logs, shared
   * screens), tokens are signed by the hub and expire. Undefined after closing the socket with 1008.
   */
  function bindSession(
    socket: WebSocket,
    query: unknown,
  ): { session: string; renewed?: { token: string; expiresAt: string } } | undefined {
    const { session, token } = (query ?? {}) as { session?: unknown; token?: unknown };
    if (session === undefined) {
      const fresh = randomBytes(24).toString('base64url');
      return { session: fresh, renewed: tokens.issue(channelId, fresh, sessionTtlMs) };
    }
    if (typeof session !== 'string' || !SESSION_PATTERN.test(session)) {
      socket.close(1008, 'invalid session');
      return undefined;
    }
    const check = typeof token === 'string' ? tokens.check(channelId, session, token) : 'invalid';
    if (check !== 'valid') {
      errors.inc({ stage: 'ingress', code: `webchat.session_${check}` });
      socket.close(1008, check === 'expired' ? 'session expired' : 'invalid session token');
      return undefined;
    }
    const pastHalfLife = tokens.expiresAtMs(token as string) - Date.now() < sessionTtlMs / 2;
    return pastHalfLife ? { session, renewed: tokens.issue(channelId, session, sessionTtlMs) } : { session };
  }

  function onSocket(socket: WebSocket, request: FastifyRequest): void {
    const address = clientAddress(request);
    const release = context.limits ? context.limits.openSocket(address, socketRoute) : () => {};
    if (!release) {
      sendTo(socket, {
        type: 'error',
        code: 'rate_limited',
        retryable: true,
        message: 'Too many chat windows are open from your network. Please close one and try again.',
      });
      socket.close(1013, 'too many connections from this address');
      return;
    }
    socket.on('close', release);
    const bound = bindSession(socket, request.query);
    if (!bound) return;
    const { session, renewed } = bound;
    if (!sessions.add(session, socket)) {
      socket.close(1013, 'too many connections for this session');
      return;
    }
    const state: SocketState = {
      socket,
      ref: { channel: channelId, tenant, conversation: session },
      locale: preferredLocale(request.headers['accept-language']),
      allowFrame: frameLimiter(options.maxFramesPer10s),
      address,
    };
    // Listeners go on before any await, or frames sent right after the handshake would be lost.
    socket.on('message', (data, isBinary) => void handleFrame(state, toBuffer(data), isBinary));
    socket.on('close', () => sessions.remove(session, socket));
    socket.on('error', (error) =>
      context.logger.debug({ err: error, channel: channelId }, 'webchat socket error'),
    );
    if (renewed) sendTo(socket, { type: 'session', session, ...renewed });
    void sendHistory(socket, state.ref);
  }

  function serveWidget(app: FastifyInstance, page: WidgetPage): void {
    const send = (reply: FastifyReply, contentType: string, body: string) =>
      reply.headers(page.headers).type(contentType).send(body);
    const servePage = (_: unknown, reply: FastifyReply) => send(reply, 'text/html; charset=utf-8', page.html);
    const pageRoute = { config: { openapi: webchatPageDoc } };
    app.get(prefix, pageRoute, servePage);
    try {
      app.get(`${prefix}/`, pageRoute, servePage);
    } catch {
      // The server ignores trailing slashes, so the route above already answers here.
    }
    if (channelId === 'webchat') app.get('/chat', pageRoute, servePage);
    for (const [name, asset] of page.assets) {
      const config = { openapi: webchatAssetDoc(name, asset.contentType) };
      app.get(`${prefix}/${name}`, { config }, (_, reply) => send(reply, asset.contentType, asset.body));
    }
  }

  const connector: Connector = {
    id: channelId,
    type: 'webchat',
    async register(app) {
      const page = await loadWidget({
        channelId,
        prefix,
        title: options.title,
        embedOrigins: options.embedOrigins,
      });
      serveWidget(app, page);
      const perAddress = context.limits ? { onRequest: context.limits.perAddress('webchat.connect') } : {};
      app.get(
        socketRoute,
        { websocket: true, config: { openapi: webchatSocketDoc }, ...perAddress },
        (socket, request) => onSocket(socket, request),
      );
      unsubscribe = await context.feed.subscribe(relay);
    },
    async close() {
      await unsubscribe?.();
      unsubscribe = undefined;
      // 1012 "service restart": the widget reconnects with backoff and resends what was not acknowledged.
      sessions.closeAll(1012, 'server restarting');
    },
  };
  return connector;
};
