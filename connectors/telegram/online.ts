import { Telegram } from 'telegraf';
import type { OnlineCheck } from '../../core/channels/types';
import { parseChannelOptions } from '../shared/options';
import { telegramHints, telegramOptionsSchema } from './options';
import { signalOption } from './sender';

/** `hub validate --online`: getMe with the channel's token at its apiRoot. */
export const checkTelegramOnline: OnlineCheck = async (config, { signal }) => {
  const options = parseChannelOptions({ config }, telegramOptionsSchema, telegramHints);
  const telegram = new Telegram(options.botToken, { apiRoot: options.apiRoot });
  let me: { username?: string };
  try {
    me = await telegram.callApi('getMe', {}, signalOption(signal));
  } catch (error) {
    const response = (error as { response?: { error_code?: number; description?: string } }).response;
    if (response?.error_code === 401 || response?.error_code === 404) {
      throw new Error(
        `getMe: ${response.error_code} ${response.description ?? 'Unauthorized'}: the bot token is wrong or revoked. Fix: ${telegramHints.botToken}.`,
      );
    }
    if (response?.error_code !== undefined) {
      throw new Error(
        `getMe: ${response.error_code} ${response.description ?? ''}. Fix: retry later; Telegram may be unavailable.`,
      );
    }
    const code = (error as { code?: string; name?: string }).code ?? (error as Error).name;
    throw new Error(
      `getMe: no answer from ${new URL(options.apiRoot).origin} (${code}). Fix: check apiRoot and the network.`,
    );
  }
  const expected = options.botUsername?.replace(/^@/, '');
  if (expected && me.username && expected.toLowerCase() !== me.username.toLowerCase()) {
    throw new Error(
      `the token belongs to @${me.username}, not botUsername @${expected}. Fix: correct botUsername or use that bot's token.`,
    );
  }
  return `bot @${me.username ?? '?'}`;
};
