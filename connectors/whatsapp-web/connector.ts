import { resolve } from 'node:path';
import type { ChannelContext, Connector } from '../../core/channels/types';
import { requireAdmin } from '../../core/http/admin-auth';
import { DeliveryError } from '../../core/outbound/errors';
import type { PlatformSender } from '../../core/outbound/types';
import { backoffDelay } from '../../core/resilience/backoff';
import { HubError, type OutboundMessage } from '../../core/types';
import { fileTooLarge } from '../shared/download';
import { inboundIgnored } from '../shared/metrics';
import { parseChannelOptions } from '../shared/options';
import {
  createRealWebClient,
  type WebClient,
  type WebClientFactory,
  type WebMessage,
  type WebMessageMedia,
} from './client';
import { whatsappWebSession } from './metrics';
import { normalizeWebMessage, type WebIdentity } from './normalize';
import { whatsappWebQrDoc } from './openapi';
import { whatsappWebHints, whatsappWebOptionsSchema } from './options';
import { renderWhatsAppWeb, type WebCall } from './render';

const qrConfig = { permission: 'channels.manage', openapi: whatsappWebQrDoc } as const;

export type SessionState =
  | 'starting'
  | 'qr'
  | 'authenticated'
  | 'ready'
  | 'disconnected'
  | 'auth_failure'
  | 'closed';

export interface WhatsAppWebConnector extends Connector {
  /** The connection as the QR endpoint shows it. */
  session(): { state: SessionState; qr?: string; since: string; problem?: string };
}

/**
 * WhatsApp through a linked device (whatsapp-web.js driving Chromium), for small deployments without
 * a Cloud API account. The operator pairs by scanning the QR code (logged, and served at
 * `GET /admin/channels/<id>/qr`); the session persists under `sessionDir`. Only the process that
 * serves HTTP holds the session: in a split deployment it also sends the replies, taken from the
 * reply feed, because a worker-only process cannot open a second session for the same account.
 */
export function createWhatsAppWebConnector(
  ctx: ChannelContext,
  dependencies: { createClient?: WebClientFactory } = {},
): WhatsAppWebConnector {
  const options = parseChannelOptions(ctx, whatsappWebOptionsSchema, whatsappWebHints);
  const channel = options.id;
  const identity: WebIdentity = { channel, tenant: options.tenant };
  const createClient = dependencies.createClient ?? createRealWebClient;
  const status: { state: SessionState; qr?: string; since: string; problem?: string } = {
    state: 'starting',
    since: new Date().toISOString(),
  };
  let client: WebClient | undefined;
  let reconnectTimer: NodeJS.Timeout | undefined;
  let failures = 0;
  let closed = false;
  let unsubscribe: (() => Promise<void>) | undefined;

  const setState = (state: SessionState, problem?: string) => {
    status.state = state;
    status.since = new Date().toISOString();
    status.problem = problem;
    if (state !== 'qr') status.qr = undefined;
  };

  function scheduleReconnect(reason: string) {
    if (closed || reconnectTimer) return;
    const delay = backoffDelay(
      { baseMs: options.reconnect.minMs, maxMs: options.reconnect.maxMs },
      failures + 1,
    );
    failures++;
    ctx.logger.warn({ reason, delayMs: delay, attempt: failures }, 'whatsapp-web reconnecting');
    reconnectTimer = setTimeout(() => {
      reconnectTimer = undefined;
      whatsappWebSession.inc({ channel, event: 'reconnect' });
      void restart();
    }, delay);
    reconnectTimer.unref();
  }

  async function restart() {
    const previous = client;
    client = undefined;
    await previous?.destroy().catch(() => {});
    previous?.removeAllListeners();
    await start();
  }

  async function onMessage(message: WebMessage) {
    const normalized = normalizeWebMessage(message, identity);
    if ('ignored' in normalized) {
      inboundIgnored.inc({ channel, reason: normalized.ignored });
      return;
    }
    try {
      await ctx.accept(normalized.event);
    } catch (error) {
      // The library does not redeliver: the message is lost to the bot, so say so loudly.
      ctx.logger.error(
        { err: error, messageId: normalized.event.platformMessageId },
        'whatsapp-web publish failed',
      );
    }
  }

  async function start() {
    if (closed) return;
    setState('starting');
    let next: WebClient;
    try {
      next = await createClient({
        channel,
        sessionDir: resolve(options.sessionDir),
        executablePath: options.executablePath,
        headless: options.headless,
      });
    } catch (error) {
      setState('disconnected', `cannot create the client: ${(error as Error).message}`);
      scheduleReconnect('create_failed');
      return;
    }
    client = next;
    next.on('qr', (qr: string) => {
      setState('qr');
      status.qr = qr;
      whatsappWebSession.inc({ channel, event: 'qr' });
      // The operator scans this with WhatsApp → Linked devices; it is replaced every ~20 s until then.
      ctx.logger.warn(
        { qr, adminUrl: `/admin/channels/${channel}/qr` },
        'whatsapp-web needs pairing: scan the QR code (render the qr string, or open the admin URL)',
      );
    });
    next.on('authenticated', () => setState('authenticated'));
    next.on('ready', () => {
      failures = 0;
      identity.ownId = next.info?.wid?._serialized;
      setState('ready');
      whatsappWebSession.inc({ channel, event: 'ready' });
      ctx.logger.info('whatsapp-web connected');
    });
    next.on('auth_failure', (message: string) => {
      setState('auth_failure', `authentication failed: ${message}`);
      whatsappWebSession.inc({ channel, event: 'auth_failure' });
      ctx.logger.error(
        { reason: message },
        'whatsapp-web authentication failed; pair again (the QR code is shown after the restart)',
      );
      scheduleReconnect('auth_failure');
    });
    next.on('disconnected', (reason: string) => {
      const loggedOut = String(reason).toUpperCase() === 'LOGOUT';
      setState(
        'disconnected',
        loggedOut ? 'logged out from the phone: pair again' : `disconnected: ${reason}`,
      );
      whatsappWebSession.inc({ channel, event: loggedOut ? 'logout' : 'disconnected' });
      ctx.logger.error({ reason }, 'whatsapp-web disconnected');
      scheduleReconnect(String(reason));
    });
    next.on('message', (message: WebMessage) => {
      void onMessage(message);
    });
    try {
      await next.initialize();
    } catch (error) {
      if (client !== next) return;
      setState('disconnected', `cannot start: ${(error as Error).message}`);
      whatsappWebSession.inc({ channel, event: 'start_failed' });
      ctx.logger.error({ err: error }, 'whatsapp-web client did not start (is Chromium at executablePath?)');
      scheduleReconnect('initialize_failed');
    }
  }

  const sender: PlatformSender<WebCall> = {
    channel,
    render: renderWhatsAppWeb,
    // Unofficial limits: a linked device that sends faster than a person risks a ban.
    rules: (message, call) => [
      { key: `whatsapp-web:${channel}:account`, limit: 20, windowMs: 10_000 },
      ...(call.kind === 'text'
        ? [{ key: `whatsapp-web:${channel}:chat:${message.ref.conversation}`, limit: 1, windowMs: 1_000 }]
        : []),
    ],
    async send(_message, call) {
      const current = client;
      if (!current || status.state !== 'ready') {
        throw new DeliveryError('whatsapp_web.not_connected', `not connected (${status.state})`, {
          retryable: true,
        });
      }
      try {
        if (call.kind === 'typing') {
          await (await current.getChatById(call.chatId)).sendStateTyping();
          return undefined;
        }
        const sent = await current.sendMessage(call.chatId, call.text, { linkPreview: false });
        return sent?.id?._serialized;
      } catch (error) {
        throw new DeliveryError('whatsapp_web.send_failed', `sendMessage: ${(error as Error).message}`, {
          retryable: true,
          cause: error,
        });
      }
    },
  };

  async function deliverHere(message: OutboundMessage) {
    if (!ctx.outbound) throw new HubError('outbound.missing', 'no outbound scheduler in this process');
    await ctx.outbound.deliver(message, sender);
  }

  return {
    id: channel,
    type: 'whatsapp-web',
    async register(app) {
      // Whoever scans this code links their WhatsApp account to the hub: the admin rule guards it.
      app.get(`/admin/channels/${channel}/qr`, { onRequest: requireAdmin, config: qrConfig }, async () => ({
        channel,
        ...status,
      }));
      // A worker-only process hands replies to this one through the feed.
      if (ctx.hub.server.role === 'api') {
        unsubscribe = await ctx.feed.subscribe((message) => {
          if (message.ref.channel !== channel) return;
          deliverHere(message).catch((error: unknown) =>
            ctx.logger.warn(
              { code: (error as HubError).code, messageId: message.id },
              'whatsapp-web reply not sent',
            ),
          );
        });
      }
      // Not awaited: Chromium takes seconds to start and pairing may wait for a person.
      void start();
    },
    async deliver(message) {
      // In a worker-only process there is no session; the HTTP process sends it from the feed.
      if (ctx.hub.server.role === 'worker') return;
      await deliverHere(message);
    },
    async health() {
      if (status.state === 'ready') return;
      const hint =
        status.state === 'qr' || status.state === 'starting'
          ? `waiting for pairing: scan the QR code (GET /admin/channels/${channel}/qr)`
          : (status.problem ?? status.state);
      throw new Error(`whatsapp-web ${status.state}: ${hint}`);
    },
    session: () => ({ ...status }),
    async fetchFile(attachment) {
      const messageId = attachment.fileId;
      if (!messageId) throw new HubError('file.not_found', 'Not a WhatsApp message id', { status: 404 });
      if (!client || status.state !== 'ready') {
        throw new HubError(
          'file.platform_refused',
          `WhatsApp Web is not connected (${status.state}). Fix: pair the session (GET /admin/channels/${channel}/qr) and retry.`,
          { status: 502, retryable: true },
        );
      }
      let message: WebMessage | undefined;
      try {
        message = await client.getMessageById(messageId);
      } catch (error) {
        throw new HubError(
          'file.platform_refused',
          'WhatsApp Web could not look the message up. Fix: retry later.',
          {
            status: 502,
            retryable: true,
            cause: error,
          },
        );
      }
      if (!message?.hasMedia || !message.downloadMedia)
        throw new HubError('file.not_found', `No media in message ${messageId}`, { status: 404 });
      // The phone announces the size; the download itself comes whole, base64, through Chromium.
      const announced = message._data?.size;
      if (announced !== undefined && announced > options.maxFileBytes)
        throw fileTooLarge(channel, announced, options.maxFileBytes);
      let media: WebMessageMedia | undefined;
      try {
        media = await message.downloadMedia();
      } catch (error) {
        throw new HubError(
          'file.platform_refused',
          'WhatsApp Web could not download the media. Fix: retry later.',
          {
            status: 502,
            retryable: true,
            cause: error,
          },
        );
      }
      // The library answers undefined when the phone no longer has the file.
      if (!media)
        throw new HubError('file.not_found', `The media of message ${messageId} is gone`, { status: 404 });
      const body = Buffer.from(media.data, 'base64');
      if (body.length > options.maxFileBytes) throw fileTooLarge(channel, body.length, options.maxFileBytes);
      return {
        body,
        mimeType: media.mimetype.split(';')[0]?.trim() || 'application/octet-stream',
        ...(media.filename ? { name: media.filename } : {}),
        size: body.length,
      };
    },
    async close() {
      closed = true;
      clearTimeout(reconnectTimer);
      await unsubscribe?.();
      const current = client;
      client = undefined;
      setState('closed');
      await current?.destroy().catch(() => {});
    },
  };
}
