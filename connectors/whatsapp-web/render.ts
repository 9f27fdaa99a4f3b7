import { type OutboundMessage, renderAsText } from '../../core/types';
import { splitText } from '../shared/text';
import { markdownToWhatsApp } from '../whatsapp/markdown';

/** WhatsApp Web takes longer texts, but the app shows 4096 characters before "Read more". */
const TEXT_LIMIT = 4096;

export type WebCall = { kind: 'text'; chatId: string; text: string } | { kind: 'typing'; chatId: string };

/**
 * Replies as plain WhatsApp messages: buttons and lists are not available to linked devices, so
 * choices and cards go as numbered text (style rule 5), markdown as WhatsApp formatting.
 */
export function renderWhatsAppWeb(message: OutboundMessage): WebCall[] {
  const chatId = message.ref.conversation;
  const content = message.content;
  if (content.type === 'typing') return [{ kind: 'typing', chatId }];
  const text =
    content.type === 'text' && content.format === 'markdown'
      ? markdownToWhatsApp(content.text)
      : content.type === 'card'
        ? renderAsText({ ...content, title: `*${content.title}*` })
        : renderAsText(content);
  return splitText(text, TEXT_LIMIT)
    .filter((part) => part.trim().length > 0)
    .map((part) => ({ kind: 'text' as const, chatId, text: part }));
}
