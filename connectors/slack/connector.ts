import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ConnectorFactory } from '../../core/channels/types';
import { parseJsonBody, registerRawWebhook } from '../../core/http/webhook';
import { webhookRequests } from '../../core/metrics';
import {
  acceptNormalized,
  acknowledgeVerified,
  countedOutcome,
  isTransient,
  recordRejected,
} from '../shared/ingress';
import { inboundIgnored } from '../shared/metrics';
import type { Normalized } from '../shared/normalized';
import { parseChannelOptions } from '../shared/options';
import { streamedDelivery } from '../shared/streaming';
import { SLACK_DRAFT_CHARS, slackDraftPlatform } from './draft';
import { fetchSlackFile } from './files';
import { normalizeSlackAction, normalizeSlackEvent, type SlackIdentity } from './normalize';
import { slackWebhookDoc } from './openapi';
import { slackHints, slackOptionsSchema } from './options';
import { createSlackSender } from './sender';
import { type SocketEnvelope, type SocketStatus, startSocketMode } from './socket';
import { verifySlackSignature } from './verify';
import type { SlackBlockActions, SlackEnvelope } from './wire';

/**
 * Slack app over the Events API: `/webhooks/<id>` takes events (JSON) and interactivity (form
 * `payload=`), both signed with the signing secret; url_verification answered; everything else
 * acknowledged at once (Slack's 3-second deadline) and handed to the bus. With `socketMode: true`
 * the same events arrive as envelopes over a WebSocket the hub opens instead, and go through the
 * same normalize → publish → ack.
 */
export const createSlackConnector: ConnectorFactory = (ctx) => {
  const options = parseChannelOptions(ctx, slackOptionsSchema, slackHints);
  const channel = options.id;
  const identity: SlackIdentity = {
    channel,
    tenant: options.tenant,
    botUserId: options.botUserId,
    botId: options.botId,
  };
  const sender = createSlackSender({ channel, botToken: options.botToken, apiUrl: options.apiUrl });
  const drafts = slackDraftPlatform(sender);
  let tokenProblem: string | undefined;
  let socket: { status: SocketStatus; stop(): Promise<void> } | undefined;

  async function learnIdentity(): Promise<void> {
    try {
      const auth = await sender.client.auth.test();
      identity.botUserId ??= auth.user_id;
      identity.botId ??= auth.bot_id;
      tokenProblem = undefined;
    } catch (error) {
      const reason = (error as { data?: { error?: string } }).data?.error ?? (error as Error).message;
      tokenProblem = `auth.test: ${reason} (check botToken)`;
      ctx.logger.warn(
        { reason },
        'slack auth.test failed; the bot is recognised from event authorizations only',
      );
    }
  }

  /** `normalize` runs inside the acknowledgement: a payload it cannot read is acked and kept, never a 500. */
  async function accept(
    normalize: () => Normalized,
    request: FastifyRequest,
    reply: FastifyReply,
    raw: Buffer,
  ) {
    return acknowledgeVerified(ctx, channel, reply, raw, async () => {
      const outcome = await acceptNormalized(ctx, channel, normalize());
      const retry = request.headers['x-slack-retry-num'];
      if (retry && outcome === 'duplicate')
        request.log.info({ channel, retry }, 'slack retry of an event already accepted');
      return outcome;
    });
  }

  /** Socket Mode acks only once this resolves; a rejection leaves the envelope for Slack to resend. */
  const acceptFromSocket = (normalized: Normalized) =>
    countedOutcome(channel, () => acceptNormalized(ctx, channel, normalized));

  /**
   * A Socket Mode envelope. Acked unless the hub cannot take it now: one it cannot read is counted,
   * kept and acked, so Slack stops resending it.
   */
  async function acceptEnvelope(envelope: SocketEnvelope): Promise<void> {
    try {
      await acceptEnvelopeUnguarded(envelope);
    } catch (error) {
      if (isTransient(error)) throw error;
      recordRejected(ctx, channel, JSON.stringify(envelope.body ?? null), error);
    }
  }

  /** The payloads are the Events API's and interactivity's own. */
  async function acceptEnvelopeUnguarded(envelope: SocketEnvelope): Promise<void> {
    if (envelope.type === 'events_api') {
      const outcome = await acceptFromSocket(normalizeSlackEvent(envelope.body as SlackEnvelope, identity));
      if (envelope.retryAttempt && outcome === 'duplicate')
        ctx.logger.info({ channel, retry: envelope.retryAttempt }, 'slack redelivery of an accepted event');
      return;
    }
    if (envelope.type === 'interactive') {
      const payload = envelope.body as SlackBlockActions | undefined;
      if (payload?.type === 'block_actions') {
        await acceptFromSocket(normalizeSlackAction(payload, identity));
        return;
      }
    }
    // Slash commands and other interactions are not handled by this connector; acked so Slack stops.
    inboundIgnored.inc({ channel, reason: `socket_${envelope.type}` });
  }

  function registerSocketMode(): void {
    socket = startSocketMode({
      appToken: options.appToken as string,
      apiUrl: options.apiUrl,
      logger: ctx.logger,
      handle: acceptEnvelope,
    });
  }

  return {
    id: channel,
    type: 'slack',
    async register(app) {
      if (!identity.botUserId || !identity.botId) await learnIdentity();
      if (options.socketMode) return registerSocketMode();
      const signingSecret = options.signingSecret as string;
      const jsonOptions = { maxDepth: ctx.hub.server.maxJsonDepth, rejected: ctx.rejected };
      await registerRawWebhook(app, {
        channel,
        path: `/webhooks/${channel}`,
        bodyLimit: ctx.hub.server.bodyLimitBytes,
        contentTypes: ['application/json', 'application/x-www-form-urlencoded'],
        handle: async (request, body, reply) => {
          const verdict = verifySlackSignature({
            signingSecret,
            timestamp: request.headers['x-slack-request-timestamp'],
            signature: request.headers['x-slack-signature'],
            body,
          });
          if (!verdict.ok) {
            webhookRequests.inc({ channel, outcome: 'unauthorized' });
            request.log.warn({ channel, reason: verdict.reason }, 'slack request refused');
            return reply
              .code(401)
              .send({ error: { code: `slack.${verdict.reason}`, message: 'Unauthorized' } });
          }
          if (request.headers['content-type']?.startsWith('application/x-www-form-urlencoded')) {
            const payload = new URLSearchParams(body.toString('utf8')).get('payload');
            // Slash commands (form fields, no payload) are not handled by this connector.
            if (payload === null) {
              inboundIgnored.inc({ channel, reason: 'unsupported_form' });
              return reply.code(200).send();
            }
            const interaction = parseJsonBody(channel, payload, request, reply, jsonOptions);
            if (interaction === undefined) return reply;
            return accept(
              () => normalizeSlackAction(interaction as SlackBlockActions, identity),
              request,
              reply,
              body,
            );
          }
          const envelope = parseJsonBody(channel, body, request, reply, jsonOptions) as
            | SlackEnvelope
            | undefined;
          if (envelope === undefined) return reply;
          if (envelope.type === 'url_verification') {
            webhookRequests.inc({ channel, outcome: 'url_verification' });
            return reply
              .code(200)
              .type('text/plain')
              .send(String(envelope.challenge ?? ''));
          }
          return accept(() => normalizeSlackEvent(envelope, identity), request, reply, body);
        },
        openapi: slackWebhookDoc,
      });
    },
    ...streamedDelivery(ctx, options, drafts, SLACK_DRAFT_CHARS),
    async fetchFile(attachment) {
      return fetchSlackFile({
        channel,
        client: sender.client,
        botToken: options.botToken,
        apiUrl: options.apiUrl,
        maxFileBytes: options.maxFileBytes,
        fileId: attachment.fileId,
        url: attachment.url,
      });
    },
    async health() {
      const problem = tokenProblem ?? socket?.status.problem;
      if (problem) throw new Error(problem);
    },
    async close() {
      await socket?.stop();
    },
  };
};
