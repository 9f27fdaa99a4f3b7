import { Telegram } from 'telegraf';
import { DeliveryError } from '../../core/outbound/errors';
import type { PlatformSender, RateRule } from '../../core/outbound/types';
import type { OutboundMessage } from '../../core/types';
import { renderTelegram, type TelegramCall } from './render';

const CALL_TIMEOUT_MS = 15_000;

/** telegraf types its signal as the abort-controller polyfill's; node-fetch takes the built-in one. */
export const signalOption = (signal: AbortSignal) => ({ signal: signal as never });

interface TelegramFailure {
  response?: { error_code?: number; description?: string; parameters?: { retry_after?: number } };
  name?: string;
  type?: string;
}

/** A Bot API error as a DeliveryError: 429 carries retry_after; 5xx and network errors are retryable. */
export function toDeliveryError(error: unknown, scope: string): DeliveryError {
  const failure = error as TelegramFailure;
  const code = failure.response?.error_code;
  const description = failure.response?.description ?? (error as Error).message ?? 'unknown error';
  if (code === 429) {
    const seconds = failure.response?.parameters?.retry_after ?? 1;
    return new DeliveryError('telegram.rate_limited', `429: ${description}`, {
      retryAfterMs: seconds * 1000,
      scope,
      cause: error,
    });
  }
  if (code !== undefined) {
    return new DeliveryError(`telegram.http_${code}`, `${code}: ${description}`, {
      retryable: code >= 500,
      cause: error,
    });
  }
  return new DeliveryError('telegram.network', `network error: ${description}`, {
    retryable: true,
    cause: error,
  });
}

/** Bot API 400 "message is not modified": the edit asked for the content the message already has. */
export function isNotModified(failure: DeliveryError): boolean {
  return failure.code === 'telegram.http_400' && /message is not modified/i.test(failure.message);
}

export interface TelegramSenderOptions {
  channel: string;
  botToken: string;
  apiRoot: string;
}

/** The bot-wide limits from the Bot API FAQ; per chat and per group on top. */
export function telegramRules(channel: string, chatId: string, method: TelegramCall['method']): RateRule[] {
  const rules: RateRule[] = [{ key: `telegram:${channel}:bot`, limit: 30, windowMs: 1000 }];
  if (method === 'sendChatAction') return rules;
  rules.push({ key: `telegram:${channel}:chat:${chatId}`, limit: 1, windowMs: 1000 });
  if (chatId.startsWith('-'))
    rules.push({ key: `telegram:${channel}:group:${chatId}`, limit: 20, windowMs: 60_000 });
  return rules;
}

/** Posts through telegraf's Bot API client; needs nothing but the token, so workers can deliver. */
export function createTelegramSender(options: TelegramSenderOptions): PlatformSender<TelegramCall> & {
  telegram: Telegram;
} {
  const telegram = new Telegram(options.botToken, { apiRoot: options.apiRoot });
  const call = (method: string, payload: object) =>
    telegram.callApi(
      method as 'sendMessage',
      payload as never,
      signalOption(AbortSignal.timeout(CALL_TIMEOUT_MS)),
    );
  return {
    channel: options.channel,
    telegram,
    render: renderTelegram,
    rules: (message, platformCall) =>
      telegramRules(options.channel, message.ref.conversation, platformCall.method),
    async send(message: OutboundMessage, platformCall: TelegramCall) {
      const scope = `telegram:${options.channel}:chat:${message.ref.conversation}`;
      try {
        const result = (await call(platformCall.method, platformCall.payload)) as unknown;
        return typeof result === 'object' && result && 'message_id' in result
          ? String((result as { message_id: number }).message_id)
          : undefined;
      } catch (error) {
        const failure = toDeliveryError(error, scope);
        // An edit to the text the message already shows: it shows what was meant, which is success.
        if (platformCall.method === 'editMessageText' && isNotModified(failure))
          return String(platformCall.payload.message_id);
        // Entities Telegram cannot parse: the same words without formatting still reach the customer.
        if (
          platformCall.method !== 'sendChatAction' &&
          failure.code === 'telegram.http_400' &&
          /can't parse entities/i.test(failure.message)
        ) {
          const { parse_mode: _ignored, ...plain } = platformCall.payload;
          try {
            const result = (await call(platformCall.method, { ...plain, text: platformCall.plainText })) as {
              message_id?: number;
            };
            return result.message_id === undefined ? undefined : String(result.message_id);
          } catch (second) {
            const again = toDeliveryError(second, scope);
            if (platformCall.method === 'editMessageText' && isNotModified(again))
              return String(platformCall.payload.message_id);
            throw again;
          }
        }
        throw failure;
      }
    },
  };
}
