import type { DraftPlatform } from '../../core/outbound/draft';
import type { PlatformSender } from '../../core/outbound/types';
import { TELEGRAM_TEXT_LIMIT, type TelegramCall } from './render';

/** Longest draft text, leaving room for the in-progress mark; the rest appears with the final reply. */
export const TELEGRAM_DRAFT_CHARS = TELEGRAM_TEXT_LIMIT - 8;

/**
 * Drafts on Telegram: a plain sendMessage, then editMessageText of it
 * (https://core.telegram.org/bots/api#editmessagetext); the final reply's first part (HTML and
 * inline keyboard) edits the draft. Edits count against the chat's one-message-per-second rule.
 */
export function telegramDraftPlatform(sender: PlatformSender<TelegramCall>): DraftPlatform<TelegramCall> {
  return {
    channel: sender.channel,
    render: (message) => sender.render(message),
    rules: (message, call) => sender.rules(message, call),
    send: (message, call) => sender.send(message, call),
    draftPost(message, text) {
      const thread = message.ref.thread ? { message_thread_id: Number(message.ref.thread) } : {};
      return {
        method: 'sendMessage',
        payload: { chat_id: message.ref.conversation, text, ...thread },
        plainText: text,
      };
    },
    draftEdit(message, platformMessageId, text) {
      return {
        method: 'editMessageText',
        payload: { chat_id: message.ref.conversation, message_id: Number(platformMessageId), text },
        plainText: text,
      };
    },
    editInto(call, platformMessageId) {
      if (call.method !== 'sendMessage') return undefined;
      const { chat_id, text, parse_mode, reply_markup } = call.payload;
      return {
        method: 'editMessageText',
        payload: {
          chat_id,
          message_id: Number(platformMessageId),
          text,
          ...(parse_mode ? { parse_mode } : {}),
          ...(reply_markup ? { reply_markup } : {}),
        },
        plainText: call.plainText,
      };
    },
  };
}
