import { type Choice, type OutboundMessage, renderAsText } from '../../core/types';
import { splitText } from '../shared/text';
import { markdownToWhatsApp } from './markdown';

/** Cloud API limits (https://developers.facebook.com/docs/whatsapp/cloud-api/messages/interactive-reply-buttons-messages, …/interactive-list-messages). */
export const WHATSAPP_TEXT_LIMIT = 4096;
const BUTTON_BODY_LIMIT = 1024;
const MAX_BUTTONS = 3;
const BUTTON_TITLE_LIMIT = 20;
const BUTTON_ID_LIMIT = 256;
const MAX_LIST_ROWS = 10;
const ROW_TITLE_LIMIT = 24;
const ROW_ID_LIMIT = 200;
const CAPTION_LIMIT = 1024;

type Payload = Record<string, unknown>;

/** One Graph API `POST /{phone-number-id}/messages` call. */
export type WhatsAppCall =
  /** A free-form message: allowed only within 24 hours of the customer's last message. */
  | { kind: 'message'; payload: Payload }
  /** Marks the customer's message read and shows "typing…" for up to 25 s. */
  | { kind: 'typing'; payload: Payload }
  /** An approved template: the only thing WhatsApp delivers outside the 24-hour window. */
  | { kind: 'template'; payload: Payload };

const envelope = (to: string, body: Payload): Payload => ({
  messaging_product: 'whatsapp',
  recipient_type: 'individual',
  to,
  ...body,
});

/** The wamid of the inbound message a reply answers: event ids are `<channel>:<wamid>`. */
export function inboundMessageId(message: OutboundMessage): string | undefined {
  const prefix = `${message.ref.channel}:`;
  const id = message.inReplyTo?.startsWith(prefix) ? message.inReplyTo.slice(prefix.length) : undefined;
  return id?.startsWith('wamid.') ? id : undefined;
}

const distinct = (choices: Choice[]) => new Set(choices.map((c) => c.id)).size === choices.length;

const buttonsFit = (choices: Choice[], body: string) =>
  choices.length > 0 &&
  choices.length <= MAX_BUTTONS &&
  body.length > 0 &&
  body.length <= BUTTON_BODY_LIMIT &&
  distinct(choices) &&
  choices.every(
    (c) => c.id && c.id.length <= BUTTON_ID_LIMIT && c.title && c.title.length <= BUTTON_TITLE_LIMIT,
  );

const listFits = (choices: Choice[], body: string) =>
  choices.length > 0 &&
  choices.length <= MAX_LIST_ROWS &&
  body.length > 0 &&
  body.length <= WHATSAPP_TEXT_LIMIT &&
  distinct(choices) &&
  choices.every((c) => c.id && c.id.length <= ROW_ID_LIMIT && c.title && c.title.length <= ROW_TITLE_LIMIT);

function interactive(to: string, body: string, choices: Choice[], locale?: string, header?: Payload) {
  if (buttonsFit(choices, body)) {
    return envelope(to, {
      type: 'interactive',
      interactive: {
        type: 'button',
        ...(header ? { header } : {}),
        body: { text: body },
        action: {
          buttons: choices.map((c) => ({ type: 'reply', reply: { id: c.id, title: c.title } })),
        },
      },
    });
  }
  if (listFits(choices, body)) {
    return envelope(to, {
      type: 'interactive',
      interactive: {
        type: 'list',
        body: { text: body },
        action: {
          button: locale?.startsWith('zh') ? '选择' : 'Choose',
          sections: [{ rows: choices.map((c) => ({ id: c.id, title: c.title })) }],
        },
      },
    });
  }
  return undefined;
}

function textCalls(to: string, text: string): WhatsAppCall[] {
  return splitText(text, WHATSAPP_TEXT_LIMIT)
    .filter((part) => part.trim().length > 0)
    .map((body) => ({
      kind: 'message' as const,
      payload: envelope(to, { type: 'text', text: { body, preview_url: /https?:\/\//.test(body) } }),
    }));
}

/**
 * An OutboundMessage as Cloud API calls: markdown as WhatsApp formatting, choices as reply buttons
 * (≤3, titles ≤20) or a list (≤10 rows), a card as buttons under a bold title, files by link, typing
 * as the read receipt with typing indicator. What does not fit degrades to numbered text.
 */
export function renderWhatsApp(message: OutboundMessage): WhatsAppCall[] {
  const to = message.ref.conversation;
  const content = message.content;
  switch (content.type) {
    case 'typing': {
      const wamid = inboundMessageId(message);
      if (!wamid) return [];
      return [
        {
          kind: 'typing',
          payload: {
            messaging_product: 'whatsapp',
            status: 'read',
            message_id: wamid,
            typing_indicator: { type: 'text' },
          },
        },
      ];
    }
    case 'text':
      return textCalls(to, content.format === 'markdown' ? markdownToWhatsApp(content.text) : content.text);
    case 'choices': {
      const payload = interactive(to, content.text, content.choices, message.locale);
      return payload ? [{ kind: 'message', payload }] : textCalls(to, renderAsText(content));
    }
    case 'card': {
      const body = [`*${content.title}*`, content.subtitle && `_${content.subtitle}_`, content.text]
        .filter(Boolean)
        .join('\n');
      const buttons = content.buttons ?? [];
      const header = content.imageUrl ? { type: 'image', image: { link: content.imageUrl } } : undefined;
      if (buttons.length > 0) {
        const payload = interactive(to, body, buttons, message.locale, header);
        if (payload) return [{ kind: 'message', payload }];
        return textCalls(to, renderAsText(content));
      }
      if (content.imageUrl && body.length <= CAPTION_LIMIT) {
        return [
          {
            kind: 'message',
            payload: envelope(to, { type: 'image', image: { link: content.imageUrl, caption: body } }),
          },
        ];
      }
      return textCalls(to, [body, content.imageUrl].filter(Boolean).join('\n'));
    }
    case 'file': {
      const caption =
        content.caption && content.caption.length <= CAPTION_LIMIT ? content.caption : undefined;
      const calls: WhatsAppCall[] = [];
      if (content.mimeType?.startsWith('image/')) {
        calls.push({
          kind: 'message',
          payload: envelope(to, {
            type: 'image',
            image: { link: content.url, ...(caption ? { caption } : {}) },
          }),
        });
      } else {
        calls.push({
          kind: 'message',
          payload: envelope(to, {
            type: 'document',
            document: { link: content.url, filename: content.name, ...(caption ? { caption } : {}) },
          }),
        });
      }
      // A caption too long for the media goes as text after it.
      if (content.caption && !caption) calls.push(...textCalls(to, content.caption));
      return calls;
    }
  }
}

/** The template that stands in for a reply outside the customer-service window. */
export function templateCall(to: string, template: { name: string; language: string }): WhatsAppCall {
  return {
    kind: 'template',
    payload: envelope(to, {
      type: 'template',
      template: { name: template.name, language: { code: template.language } },
    }),
  };
}
