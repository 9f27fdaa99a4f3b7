import { DeliveryError } from '../../core/outbound/errors';
import type { PlatformSender, RateRule } from '../../core/outbound/types';
import { parseRetryAfter } from '../../core/resilience/retry-after';
import type { ConversationRef } from '../../core/types';
import { conversationIdOf } from './normalize';
import { serviceUrlAllowed, withSlash } from './options';
import type { ConversationReferences } from './references';
import { renderTeams } from './render';
import type { BotTokenProvider } from './token';
import type { OutgoingActivity } from './wire';

const CALL_TIMEOUT_MS = 15_000;

/** Teams' per-bot, per-thread limits (https://learn.microsoft.com/en-us/microsoftteams/platform/bots/how-to/rate-limit). */
export function teamsRules(channel: string, ref: ConversationRef): RateRule[] {
  const key = `teams:${channel}:conv:${ref.conversation}`;
  return [
    { key, limit: 7, windowMs: 1000 },
    { key: `${key}:30s`, limit: 60, windowMs: 30_000 },
  ];
}

/** Seconds or an HTTP date, as RFC 9110 allows; 1 s when absent or unreadable. */
export function retryAfterMs(header: string | null, now = Date.now()): number {
  const wait = parseRetryAfter(header, now);
  return wait === undefined ? 1000 : Math.max(wait, 100);
}

/** A Bot Connector response as a DeliveryError: 429 carries Retry-After; 5xx, 401 and network errors may pass. */
export function toDeliveryError(
  status: number,
  body: string,
  headers: Headers,
  scope: string,
): DeliveryError {
  let code = '';
  try {
    code = String((JSON.parse(body) as { error?: { code?: unknown } }).error?.code ?? '');
  } catch {
    // not JSON: the status says enough
  }
  const what = `Bot Connector answered ${status}${code ? ` ${code}` : ''}`;
  if (status === 429) {
    return new DeliveryError('teams.rate_limited', what, {
      retryAfterMs: retryAfterMs(headers.get('retry-after')),
      scope,
    });
  }
  // 401: the token expired or was revoked early; the retry asks for a new one.
  return new DeliveryError(`teams.http_${status}`, what, { retryable: status >= 500 || status === 401 });
}

/**
 * Posts activities to the conversation's serviceUrl with the bot's token, or updates one in place
 * when the activity carries the `id` of a posted one. Needs only the channel
 * config and the store, so worker-only processes deliver too.
 */
export function createTeamsSender(options: {
  channel: string;
  tokens: BotTokenProvider;
  references: ConversationReferences;
  serviceUrls?: string[];
}): PlatformSender<OutgoingActivity> {
  return {
    channel: options.channel,
    render: renderTeams,
    rules: (message) => teamsRules(options.channel, message.ref),
    async send(message, activity) {
      const scope = teamsRules(options.channel, message.ref)[0]?.key;
      const { serviceUrl } = await options.references.resolve(message.ref);
      if (!serviceUrlAllowed(serviceUrl, options.serviceUrls)) {
        throw new DeliveryError(
          'teams.service_url_refused',
          `serviceUrl ${new URL(serviceUrl).origin} is not in this channel's serviceUrls list`,
        );
      }
      const token = await options.tokens.token();
      const activities = `${withSlash(serviceUrl)}v3/conversations/${encodeURIComponent(conversationIdOf(message.ref))}/activities`;
      // An activity with an id replaces the one posted under it (a streamed draft's edits).
      const url = activity.id ? `${activities}/${encodeURIComponent(activity.id)}` : activities;
      let response: Response;
      try {
        response = await fetch(url, {
          method: activity.id ? 'PUT' : 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json; charset=utf-8' },
          body: JSON.stringify(activity),
          signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
        });
      } catch (error) {
        throw new DeliveryError('teams.network', `network error: ${(error as Error).message}`, {
          retryable: true,
          cause: error,
        });
      }
      const body = await response.text().catch(() => '');
      if (!response.ok) {
        if (response.status === 401) options.tokens.invalidate(token);
        throw toDeliveryError(response.status, body, response.headers, scope ?? options.channel);
      }
      try {
        const id = (JSON.parse(body) as { id?: unknown }).id;
        return typeof id === 'string' ? id : activity.id;
      } catch {
        return activity.id;
      }
    },
  };
}
