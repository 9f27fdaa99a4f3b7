import type { Connector, ConnectorFactory } from '../../core/channels/types';
import { parseJsonBody, registerRawWebhook } from '../../core/http/webhook';
import { webhookRequests } from '../../core/metrics';
import { HubError } from '../../core/types';
import {
  acceptNormalized,
  acknowledgeVerified,
  type IngressOutcome,
  recordRejected,
} from '../shared/ingress';
import { parseChannelOptions } from '../shared/options';
import { fetchWhatsAppFile } from './files';
import { createGraphClient } from './graph';
import { whatsappOutsideWindow, whatsappStatuses } from './metrics';
import { normalizeWhatsAppWebhook, type WhatsAppIdentity } from './normalize';
import { whatsappVerificationDoc, whatsappWebhookDoc } from './openapi';
import { whatsappHints, whatsappOptionsSchema } from './options';
import { createWhatsAppSender } from './sender';
import { SIGNATURE_HEADER, verifyTokenMatches, verifyWhatsAppSignature } from './verify';
import { ServiceWindowStore } from './window';
import type { WaWebhook } from './wire';

const verificationRoute = { config: { openapi: whatsappVerificationDoc } };

/** Readiness probes come often; the phone-number look-up counts against Graph's hourly call budget. */
const HEALTH_CACHE_MS = 60_000;

/**
 * WhatsApp Business Cloud API: `GET /webhooks/<id>` answers Meta's verification handshake,
 * `POST /webhooks/<id>` takes signed notifications (X-Hub-Signature-256 over the raw body), acks at
 * once and hands messages to the bus. Replies go through the shared scheduler to the Graph API, as a
 * template when the customer's 24-hour window has closed.
 */
export const createWhatsAppConnector: ConnectorFactory = (ctx) => {
  const options = parseChannelOptions(ctx, whatsappOptionsSchema, whatsappHints);
  const channel = options.id;
  const identity: WhatsAppIdentity = {
    channel,
    tenant: options.tenant,
    phoneNumberId: options.phoneNumberId,
  };
  const client = createGraphClient(options);
  // In the hub's shared storage, so the replica that sends a reply sees the window the webhook opened.
  const window = new ServiceWindowStore(ctx.storage);
  const senders = createWhatsAppSender({
    channel,
    phoneNumberId: options.phoneNumberId,
    client,
    template: options.template,
    window,
    logger: ctx.logger,
  });
  let healthyUntil = 0;

  async function accept(payload: WaWebhook): Promise<IngressOutcome> {
    const batch = normalizeWhatsAppWebhook(payload, identity);
    for (const receipt of batch.statuses) {
      whatsappStatuses.inc({ channel, status: receipt.state });
      if (receipt.state === 'failed') {
        ctx.logger.warn(
          { messageId: receipt.messageId, code: receipt.error?.code, title: receipt.error?.title },
          'whatsapp could not deliver a message',
        );
      }
    }
    // The rest of the batch goes on; each unreadable message is counted and kept.
    for (const { message, error } of batch.rejected) {
      recordRejected(ctx, channel, JSON.stringify(message) ?? '', error);
    }
    let outcome: IngressOutcome = 'ignored';
    for (const normalized of batch.messages) {
      if ('event' in normalized) {
        const { event } = normalized;
        const sentAt = (event.channelData?.whatsapp as { sentAt?: number } | undefined)?.sentAt;
        // Before publishing, so the worker that answers already sees the window open.
        await window.touch(event.sender.id, sentAt ?? Date.now());
      }
      const result = await acceptNormalized(ctx, channel, normalized);
      if (result === 'accepted') outcome = 'accepted';
      else if (result === 'duplicate' && outcome === 'ignored') outcome = 'duplicate';
    }
    return outcome;
  }

  const connector: Connector = {
    id: channel,
    type: 'whatsapp',
    async register(app) {
      app.get(`/webhooks/${channel}`, verificationRoute, async (request, reply) => {
        const query = request.query as Record<string, unknown>;
        if (
          query['hub.mode'] === 'subscribe' &&
          verifyTokenMatches(query['hub.verify_token'], options.verifyToken)
        ) {
          webhookRequests.inc({ channel, outcome: 'verification' });
          return reply
            .code(200)
            .type('text/plain')
            .send(String(query['hub.challenge'] ?? ''));
        }
        webhookRequests.inc({ channel, outcome: 'unauthorized' });
        request.log.warn(
          { channel },
          'whatsapp webhook verification refused: wrong hub.verify_token or hub.mode',
        );
        return reply.code(403).send({ error: { code: 'whatsapp.verify_token', message: 'Forbidden' } });
      });
      await registerRawWebhook(app, {
        channel,
        path: `/webhooks/${channel}`,
        bodyLimit: ctx.hub.server.bodyLimitBytes,
        contentTypes: ['application/json'],
        handle: async (request, body, reply) => {
          if (!verifyWhatsAppSignature(options.appSecret, request.headers[SIGNATURE_HEADER], body)) {
            webhookRequests.inc({ channel, outcome: 'unauthorized' });
            request.log.warn({ channel }, 'whatsapp request refused: bad X-Hub-Signature-256');
            return reply
              .code(401)
              .send({ error: { code: 'whatsapp.bad_signature', message: 'Unauthorized' } });
          }
          const payload = parseJsonBody(channel, body, request, reply, {
            maxDepth: ctx.hub.server.maxJsonDepth,
            rejected: ctx.rejected,
          });
          if (payload === undefined) return reply;
          // Unacknowledged when the hub cannot take it now, so Meta delivers it again; duplicates are
          // dropped by id. Acknowledged and kept when it cannot be read, so Meta stops sending it.
          return acknowledgeVerified(ctx, channel, reply, body, () => accept(payload as WaWebhook));
        },
        openapi: whatsappWebhookDoc,
      });
    },
    async deliver(message) {
      if (!ctx.outbound) throw new HubError('outbound.missing', 'no outbound scheduler in this process');
      const customer = message.ref.conversation;
      if (await window.isOpen(customer)) {
        await ctx.outbound.deliver(message, senders.freeForm);
        return;
      }
      // Outside the window WhatsApp delivers only templates; a typing indicator has no point.
      if (message.content.type === 'typing') return;
      if (!options.template) {
        whatsappOutsideWindow.inc({ channel, outcome: 'no_template' });
        ctx.logger.warn(
          { messageId: message.id },
          'whatsapp reply not sent: the customer last wrote over 24 hours ago and no template is configured (set template: { name, language })',
        );
        return;
      }
      if (!(await window.claimTemplate(customer))) {
        whatsappOutsideWindow.inc({ channel, outcome: 'already_sent' });
        ctx.logger.info({ messageId: message.id }, 'whatsapp window closed; the template already went out');
        return;
      }
      ctx.logger.info(
        { messageId: message.id, template: options.template.name },
        'whatsapp window closed: sending the template instead of the reply',
      );
      try {
        const report = await ctx.outbound.deliver(message, senders.template);
        if (report.sent > 0) whatsappOutsideWindow.inc({ channel, outcome: 'template_sent' });
        if (report.failed > 0) await window.releaseTemplate(customer);
      } catch (error) {
        await window.releaseTemplate(customer);
        throw error;
      }
    },
    async health() {
      if (Date.now() < healthyUntil) return;
      try {
        await client.getPhoneNumber();
        healthyUntil = Date.now() + HEALTH_CACHE_MS;
      } catch (error) {
        throw new Error(`GET phone number ${options.phoneNumberId}: ${(error as Error).message}`);
      }
    },
    async fetchFile(attachment) {
      if (!attachment.fileId)
        throw new HubError('file.not_found', 'Not a WhatsApp media id', { status: 404 });
      return fetchWhatsAppFile({
        channel,
        client,
        maxFileBytes: options.maxFileBytes,
        fileId: attachment.fileId,
      });
    },
  };
  return connector;
};
