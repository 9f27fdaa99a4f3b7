import { type Choice, type OutboundMessage, renderAsText } from '../../core/types';
import { splitText } from '../shared/text';
import { escapeSlack, markdownToMrkdwn } from './mrkdwn';

/** chat.postMessage truncates text past 40,000 characters; section blocks hold 3,000. */
const TEXT_LIMIT = 39_000;
const SECTION_LIMIT = 3_000;
/** Block Kit limits: 25 elements per actions block, 75 characters of button text, 255 of action_id. */
const MAX_BUTTONS = 25;

export type SlackPost =
  | {
      method: 'chat.postMessage';
      payload: {
        channel: string;
        text: string;
        mrkdwn?: boolean;
        thread_ts?: string;
        blocks?: Array<Record<string, unknown>>;
      };
    }
  | {
      /** A streamed draft's edit, or the final reply replacing it (connectors/slack/draft.ts). */
      method: 'chat.update';
      payload: { channel: string; ts: string; text: string; blocks?: Array<Record<string, unknown>> };
    };

const buttonsFit = (choices: Choice[]) =>
  choices.length > 0 &&
  choices.length <= MAX_BUTTONS &&
  choices.every((c) => c.id && c.id.length <= 255 && c.title.length <= 75) &&
  new Set(choices.map((c) => c.id)).size === choices.length;

function actionsBlock(choices: Choice[]): Record<string, unknown> {
  return {
    type: 'actions',
    elements: choices.map((choice) => ({
      type: 'button',
      action_id: choice.id,
      value: choice.id,
      text: { type: 'plain_text', text: choice.title, emoji: true },
    })),
  };
}

/**
 * An OutboundMessage as chat.postMessage calls: mrkdwn text, choices and card buttons as Block Kit,
 * replies in the thread they answer. `text` is always set: Slack shows it in notifications and where
 * blocks cannot be shown. Slack has no typing indicator for bots, so `typing` posts nothing.
 */
export function renderSlack(message: OutboundMessage): SlackPost[] {
  const channel = message.ref.conversation;
  const thread = message.ref.thread ? { thread_ts: message.ref.thread } : {};
  const content = message.content;
  const post = (text: string, blocks?: Array<Record<string, unknown>>): SlackPost => ({
    method: 'chat.postMessage' as const,
    payload: { channel, text, mrkdwn: true, ...thread, ...(blocks ? { blocks } : {}) },
  });
  switch (content.type) {
    case 'typing':
      return [];
    case 'choices': {
      const text = escapeSlack(content.text);
      if (!buttonsFit(content.choices) || text.length > SECTION_LIMIT) {
        return splitText(escapeSlack(renderAsText(content)), TEXT_LIMIT).map((part) => post(part));
      }
      return [
        post(text, [{ type: 'section', text: { type: 'mrkdwn', text } }, actionsBlock(content.choices)]),
      ];
    }
    case 'card': {
      const fallback = escapeSlack(renderAsText(content));
      const body = [
        `*${escapeSlack(content.title)}*`,
        content.subtitle && `_${escapeSlack(content.subtitle)}_`,
        content.text && escapeSlack(content.text),
      ]
        .filter(Boolean)
        .join('\n');
      const buttons = content.buttons ?? [];
      if (body.length > SECTION_LIMIT || (buttons.length > 0 && !buttonsFit(buttons))) {
        return splitText(fallback, TEXT_LIMIT).map((part) => post(part));
      }
      const blocks: Array<Record<string, unknown>> = [
        { type: 'section', text: { type: 'mrkdwn', text: body } },
      ];
      if (content.imageUrl)
        blocks.push({ type: 'image', image_url: content.imageUrl, alt_text: content.title });
      if (buttons.length > 0) blocks.push(actionsBlock(buttons));
      return [post(fallback, blocks)];
    }
    case 'text': {
      const text = content.format === 'markdown' ? markdownToMrkdwn(content.text) : escapeSlack(content.text);
      return splitText(text, TEXT_LIMIT).map((part) => post(part));
    }
    case 'file':
      return [
        post(escapeSlack([content.caption, `${content.name}: ${content.url}`].filter(Boolean).join('\n'))),
      ];
  }
}
