import type { ConnectorFactory } from '../../core/channels/types';
import { parseJsonBody, registerRawWebhook } from '../../core/http/webhook';
import { errors } from '../../core/metrics';
import { constantTimeEqual } from '../../core/resilience/constant-time';
import { HubError } from '../../core/types';
import {
  acceptNormalized,
  acknowledgeVerified,
  type IngressOutcome,
  isTransient,
  recordRejected,
} from '../shared/ingress';
import { parseChannelOptions } from '../shared/options';
import { streamedDelivery } from '../shared/streaming';
import { TELEGRAM_DRAFT_CHARS, telegramDraftPlatform } from './draft';
import { fetchTelegramFile } from './files';
import { normalizeTelegramUpdate, type TelegramIdentity } from './normalize';
import { telegramWebhookDoc } from './openapi';
import { telegramHints, telegramOptionsSchema } from './options';
import { type PollerStatus, startPolling } from './polling';
import { createTelegramSender, signalOption } from './sender';
import type { TgUpdate } from './wire';

export const SECRET_HEADER = 'x-telegram-bot-api-secret-token';

/** Constant-time comparison; lengths are compared first, which leaks only the length. */
export function secretMatches(received: string | string[] | undefined, expected: string): boolean {
  if (typeof received !== 'string' || received.length === 0) return false;
  return constantTimeEqual(expected, received);
}

/**
 * Telegram bot: webhook at `/webhooks/<id>` (secret_token header checked before the body is read) or
 * long polling; replies through the shared outbound scheduler.
 */
export const createTelegramConnector: ConnectorFactory = (ctx) => {
  const options = parseChannelOptions(ctx, telegramOptionsSchema, telegramHints);
  const channel = options.id;
  const identity: TelegramIdentity = {
    channel,
    tenant: options.tenant,
    botId: Number(options.botToken.split(':')[0]),
    botUsername: options.botUsername?.replace(/^@/, ''),
  };
  const sender = createTelegramSender({ channel, botToken: options.botToken, apiRoot: options.apiRoot });
  const drafts = telegramDraftPlatform(sender);
  let poller: { status: PollerStatus; stop(): Promise<void> } | undefined;
  let tokenProblem: string | undefined;

  async function accept(update: TgUpdate): Promise<IngressOutcome> {
    const normalized = normalizeTelegramUpdate(update, identity);
    const outcome = await acceptNormalized(ctx, channel, normalized);
    const callbackQueryId =
      'event' in normalized
        ? (normalized.event.channelData?.telegram as { callbackQueryId?: string } | undefined)
            ?.callbackQueryId
        : undefined;
    // Stops the spinner on the button; the answer itself comes from the dialog as a message.
    if (callbackQueryId) {
      sender.telegram
        .answerCbQuery(callbackQueryId)
        .catch((error: unknown) =>
          ctx.logger.warn({ code: (error as { code?: number }).code }, 'answerCallbackQuery failed'),
        );
    }
    return outcome;
  }

  async function learnUsername(): Promise<void> {
    try {
      const me = await sender.telegram.callApi('getMe', {}, signalOption(AbortSignal.timeout(5_000)));
      identity.botUsername ??= me.username;
      tokenProblem = undefined;
    } catch (error) {
      const code = (error as { response?: { error_code?: number } }).response?.error_code;
      tokenProblem =
        code === 401
          ? 'getMe: 401 Unauthorized (check botToken)'
          : `getMe failed: ${(error as Error).message}`;
      ctx.logger.warn({ code }, 'telegram getMe failed; bot mentions are recognised by botUsername only');
    }
  }

  return {
    id: channel,
    type: 'telegram',
    async register(app) {
      if (!identity.botUsername) await learnUsername();
      if (options.mode === 'polling') {
        poller = startPolling({
          telegram: sender.telegram,
          timeoutSeconds: options.pollingTimeoutSeconds,
          logger: ctx.logger,
          handle: async (update) => {
            try {
              await accept(update);
            } catch (error) {
              // Not now: the poller asks again. Unreadable: counted, kept, and skipped like an ack.
              if (isTransient(error)) throw error;
              recordRejected(ctx, channel, safeJson(update), error);
            }
          },
          onConflict: () => errors.inc({ stage: 'ingress', code: 'telegram.polling_conflict' }),
        });
        return;
      }
      const secret = options.secretToken as string;
      await registerRawWebhook(app, {
        channel,
        path: `/webhooks/${channel}`,
        bodyLimit: ctx.hub.server.bodyLimitBytes,
        contentTypes: ['application/json'],
        authenticateHeaders: (request) =>
          secretMatches(request.headers[SECRET_HEADER], secret) ? undefined : 401,
        handle: async (request, body, reply) => {
          const update = parseJsonBody(channel, body, request, reply, {
            maxDepth: ctx.hub.server.maxJsonDepth,
            rejected: ctx.rejected,
          });
          if (update === undefined) return reply;
          // Unacknowledged when the hub cannot take it now, so Telegram delivers the update again;
          // acknowledged (and kept) when it cannot be read, so Telegram stops sending it.
          return acknowledgeVerified(
            ctx,
            channel,
            reply,
            body,
            () => accept(update as TgUpdate),
            () => ({
              ok: true,
            }),
          );
        },
        openapi: telegramWebhookDoc,
      });
      if (options.webhookUrl) {
        await sender.telegram
          .setWebhook(options.webhookUrl, { secret_token: secret })
          .catch((error: unknown) =>
            ctx.logger.error({ code: (error as { code?: number }).code }, 'telegram setWebhook failed'),
          );
      }
    },
    ...streamedDelivery(ctx, options, drafts, TELEGRAM_DRAFT_CHARS),
    async fetchFile(attachment) {
      if (!attachment.fileId)
        throw new HubError('file.not_found', 'Telegram files are fetched by fileId', { status: 404 });
      return fetchTelegramFile({
        channel,
        telegram: sender.telegram,
        botToken: options.botToken,
        apiRoot: options.apiRoot,
        maxFileBytes: options.maxFileBytes,
        fileId: attachment.fileId,
      });
    },
    async health() {
      const problem = poller?.status.problem ?? tokenProblem;
      if (problem) throw new Error(problem);
    },
    async close() {
      await poller?.stop();
    },
  };
};

/** A polled update as text for the rejected-webhook store (it came parsed, not as bytes). */
function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
