import { ErrorCode, WebClient } from '@slack/web-api';
import { DeliveryError } from '../../core/outbound/errors';
import type { PlatformSender } from '../../core/outbound/types';
import { renderSlack, type SlackPost } from './render';

/** Errors worth another try; the rest (channel_not_found, invalid_auth, …) will not change by retrying. */
const RETRYABLE_PLATFORM_ERRORS = new Set([
  'internal_error',
  'fatal_error',
  'service_unavailable',
  'request_timeout',
  'ratelimited',
]);

interface SlackFailure {
  code?: string;
  retryAfter?: number;
  statusCode?: number;
  data?: { error?: string };
  message?: string;
}

export function toDeliveryError(error: unknown, scope: string): DeliveryError {
  const failure = error as SlackFailure;
  switch (failure.code) {
    case ErrorCode.RateLimitedError:
      return new DeliveryError('slack.rate_limited', `429 rate limited`, {
        retryAfterMs: (failure.retryAfter ?? 1) * 1000,
        scope,
        cause: error,
      });
    case ErrorCode.PlatformError: {
      const reason = failure.data?.error ?? 'unknown';
      return new DeliveryError(`slack.${reason}`, `Slack refused: ${reason}`, {
        retryable: RETRYABLE_PLATFORM_ERRORS.has(reason),
        cause: error,
      });
    }
    case ErrorCode.HTTPError:
      return new DeliveryError(`slack.http_${failure.statusCode}`, `HTTP ${failure.statusCode}`, {
        retryable: (failure.statusCode ?? 500) >= 500,
        cause: error,
      });
    default:
      return new DeliveryError('slack.network', `network error: ${failure.message ?? 'unknown'}`, {
        retryable: true,
        cause: error,
      });
  }
}

/** The Web API base URL as the SDK joins method names to it: with a trailing slash. */
export const slackApiBase = (apiUrl: string) => (apiUrl.endsWith('/') ? apiUrl : `${apiUrl}/`);

/** A Web API client that makes each call once: retries and 429s are left to its caller. */
export function slackWebClient(token: string, apiUrl: string, timeoutMs: number): WebClient {
  return new WebClient(token, {
    slackApiUrl: slackApiBase(apiUrl),
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    timeout: timeoutMs,
  });
}

export function slackChannelKey(channel: string, conversation: string): string {
  return `slack:${channel}:chan:${conversation}`;
}

/** Posts with @slack/web-api; retries and 429s are left to the shared scheduler, not the SDK. */
export function createSlackSender(options: {
  channel: string;
  botToken: string;
  apiUrl: string;
}): PlatformSender<SlackPost> & {
  client: WebClient;
} {
  const client = slackWebClient(options.botToken, options.apiUrl, 15_000);
  return {
    channel: options.channel,
    client,
    render: renderSlack,
    // Slack: about one message per second per channel, short bursts tolerated; chat.update is Tier 3.
    rules: (message, post) => [
      { key: slackChannelKey(options.channel, message.ref.conversation), limit: 1, windowMs: 1000 },
      ...(post.method === 'chat.update'
        ? [{ key: `slack:${options.channel}:chat.update`, limit: 50, windowMs: 60_000 }]
        : []),
    ],
    async send(message, post) {
      try {
        const result =
          post.method === 'chat.update'
            ? await client.chat.update(post.payload as Parameters<WebClient['chat']['update']>[0])
            : await client.chat.postMessage(post.payload as Parameters<WebClient['chat']['postMessage']>[0]);
        return result.ts;
      } catch (error) {
        throw toDeliveryError(error, slackChannelKey(options.channel, message.ref.conversation));
      }
    },
  };
}
