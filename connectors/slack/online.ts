import { ErrorCode } from '@slack/web-api';
import type { OnlineCheck } from '../../core/channels/types';
import { parseChannelOptions } from '../shared/options';
import { slackHints, slackOptionsSchema } from './options';
import { slackWebClient } from './sender';

const FIXES: Record<string, string> = {
  invalid_auth: 'the token is wrong or revoked',
  not_authed: 'no token was sent',
  account_inactive: 'the app was uninstalled or its workspace deactivated',
  token_revoked: 'the token was revoked',
  not_allowed_token_type: 'this kind of token is not accepted here',
  missing_scope: 'the token lacks a scope',
};

function explain(method: string, error: unknown, hint: string, apiUrl: string): Error {
  const failure = error as { code?: string; data?: { error?: string }; statusCode?: number };
  if (failure.code === ErrorCode.PlatformError) {
    const reason = failure.data?.error ?? 'unknown';
    return new Error(`${method}: ${reason}${FIXES[reason] ? ` (${FIXES[reason]})` : ''}. Fix: ${hint}.`);
  }
  if (failure.code === ErrorCode.HTTPError)
    return new Error(`${method}: HTTP ${failure.statusCode}. Fix: retry later; check apiUrl.`);
  if (failure.code === ErrorCode.RateLimitedError)
    return new Error(`${method}: rate limited. Fix: retry in a minute.`);
  return new Error(`${method}: no answer from ${new URL(apiUrl).origin}. Fix: check apiUrl and the network.`);
}

const client = (token: string, apiUrl: string) => slackWebClient(token, apiUrl, 10_000);

/**
 * `hub validate --online`: auth.test with the bot token; with Socket Mode also apps.connections.open
 * with the app token (it hands out a WebSocket URL, which is left unused).
 */
export const checkSlackOnline: OnlineCheck = async (config, { signal }) => {
  const options = parseChannelOptions({ config }, slackOptionsSchema, slackHints);
  signal.throwIfAborted();
  let auth: { user?: string; team?: string };
  try {
    auth = await client(options.botToken, options.apiUrl).auth.test();
  } catch (error) {
    throw explain('auth.test', error, slackHints.botToken as string, options.apiUrl);
  }
  if (options.socketMode && options.appToken) {
    try {
      await client(options.appToken, options.apiUrl).apps.connections.open();
    } catch (error) {
      throw explain('apps.connections.open', error, slackHints.appToken as string, options.apiUrl);
    }
  }
  return `bot ${auth.user ?? '?'} in ${auth.team ?? 'the workspace'}${options.socketMode ? ', Socket Mode token ok' : ''}`;
};
