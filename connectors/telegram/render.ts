import { type Choice, type OutboundMessage, renderAsText } from '../../core/types';
import { splitText } from '../shared/text';
import { escapeHtml, markdownToTelegramHtml } from './markdown';

/** Bot API limits (https://core.telegram.org/bots/api#sendmessage, #inlinekeyboardbutton). */
export const TELEGRAM_TEXT_LIMIT = 4096;
const CALLBACK_DATA_BYTES = 64;
/** Markdown is split below the limit: escaping and tags make the HTML longer than its source. */
const MARKDOWN_CHUNK = 3000;

export interface InlineKeyboard {
  inline_keyboard: Array<Array<{ text: string; callback_data: string }>>;
}

export type TelegramCall =
  | {
      method: 'sendMessage';
      payload: {
        chat_id: string;
        text: string;
        parse_mode?: 'HTML';
        reply_markup?: InlineKeyboard;
        message_thread_id?: number;
      };
      /** What to send instead if Telegram refuses the HTML. */
      plainText: string;
    }
  | {
      /** A streamed draft's edit, or the final reply replacing it (connectors/telegram/draft.ts). */
      method: 'editMessageText';
      payload: {
        chat_id: string;
        message_id: number;
        text: string;
        parse_mode?: 'HTML';
        reply_markup?: InlineKeyboard;
      };
      plainText: string;
    }
  | { method: 'sendChatAction'; payload: { chat_id: string; action: 'typing'; message_thread_id?: number } };

/** Buttons when every choice id fits Telegram's 64-byte callback_data; otherwise the text fallback. */
function keyboardOf(choices: Choice[]): InlineKeyboard | undefined {
  if (choices.length === 0) return undefined;
  if (choices.some((c) => !c.id || Buffer.byteLength(c.id) > CALLBACK_DATA_BYTES)) return undefined;
  return { inline_keyboard: choices.map((c) => [{ text: c.title, callback_data: c.id }]) };
}

/**
 * An OutboundMessage as Bot API calls: markdown as HTML, choices as an inline keyboard, a card as a
 * bold title with buttons, typing as sendChatAction; long texts split. What Telegram cannot show
 * (keyboard data too long, files by URL) degrades to the shared text rendering.
 */
export function renderTelegram(message: OutboundMessage): TelegramCall[] {
  const chat_id = message.ref.conversation;
  const thread = message.ref.thread ? { message_thread_id: Number(message.ref.thread) } : {};
  const content = message.content;
  if (content.type === 'typing')
    return [{ method: 'sendChatAction', payload: { chat_id, action: 'typing', ...thread } }];

  let html: string[];
  let plain: string[];
  let keyboard: InlineKeyboard | undefined;
  if (content.type === 'text' && content.format === 'markdown') {
    const parts = splitText(content.text, MARKDOWN_CHUNK);
    html = parts.map(markdownToTelegramHtml);
    plain = parts;
  } else if (content.type === 'choices' && keyboardOf(content.choices)) {
    keyboard = keyboardOf(content.choices);
    plain = splitText(content.text, TELEGRAM_TEXT_LIMIT);
    html = plain.map(escapeHtml);
  } else if (content.type === 'card') {
    keyboard = keyboardOf(content.buttons ?? []);
    const lines = [
      `<b>${escapeHtml(content.title)}</b>`,
      content.subtitle ? `<i>${escapeHtml(content.subtitle)}</i>` : undefined,
      content.text ? escapeHtml(content.text) : undefined,
      content.imageUrl ? escapeHtml(content.imageUrl) : undefined,
      ...(keyboard ? [] : (content.buttons ?? []).map((b) => `• ${escapeHtml(b.title)}`)),
    ].filter(Boolean);
    plain = [renderAsText(content)];
    html = [lines.join('\n')];
    if (html[0] && html[0].length > TELEGRAM_TEXT_LIMIT) {
      plain = splitText(renderAsText(content), TELEGRAM_TEXT_LIMIT);
      html = plain.map(escapeHtml);
    }
  } else {
    plain = splitText(renderAsText(content), TELEGRAM_TEXT_LIMIT);
    html = plain.map(escapeHtml);
  }
  return html.map((text, index) => ({
    method: 'sendMessage' as const,
    payload: {
      chat_id,
      text,
      parse_mode: 'HTML' as const,
      ...thread,
      ...(keyboard && index === html.length - 1 ? { reply_markup: keyboard } : {}),
    },
    plainText: plain[index] ?? text,
  }));
}
