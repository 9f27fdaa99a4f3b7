import { type Choice, type OutboundMessage, renderAsText } from '../../core/types';
import { splitText } from '../shared/text';
import { ADAPTIVE_CARD, type OutgoingActivity } from './wire';

/**
 * Teams refuses messages over about 28 KB (https://learn.microsoft.com/en-us/microsoftteams/platform/bots/how-to/format-your-bot-messages):
 * 7,000 UTF-16 units stay under it even when every one is a three-byte character.
 */
export const TEXT_LIMIT = 7_000;
/** Buttons per card the hub renders; more choices, or long ones, degrade to a numbered list. */
const MAX_ACTIONS = 6;
const MAX_ACTION_TITLE = 100;
const MAX_ACTION_ID = 256;
const CARD_TEXT_LIMIT = 5_000;

const buttonsFit = (choices: Choice[]) =>
  choices.length > 0 &&
  choices.length <= MAX_ACTIONS &&
  choices.every((c) => c.id && c.id.length <= MAX_ACTION_ID && c.title.length <= MAX_ACTION_TITLE) &&
  new Set(choices.map((c) => c.id)).size === choices.length;

/**
 * Action.Submit with messageBack: Teams shows the title as the customer's words and sends the hub
 * a message activity whose `value` carries `hubAction` (normalize.ts reads it back as an action).
 */
function submitAction(choice: Choice) {
  return {
    type: 'Action.Submit',
    title: choice.title,
    data: {
      hubAction: choice.id,
      msteams: { type: 'messageBack', displayText: choice.title, text: choice.title },
    },
  };
}

function adaptiveCard(body: Array<Record<string, unknown>>, choices: Choice[]) {
  return {
    contentType: ADAPTIVE_CARD,
    content: {
      type: 'AdaptiveCard',
      $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
      version: '1.4',
      body,
      ...(choices.length ? { actions: choices.map(submitAction) } : {}),
    },
  };
}

const textBlock = (text: string, extra: Record<string, unknown> = {}) => ({
  type: 'TextBlock',
  text,
  wrap: true,
  ...extra,
});

/**
 * An OutboundMessage as Bot Connector activities: text as Teams markdown (or plain), choices and
 * cards as Adaptive Cards with Action.Submit buttons, typing as a typing activity. What a card
 * cannot hold degrades to the text rendering (style rule 5); long texts are split.
 */
export function renderTeams(message: OutboundMessage): OutgoingActivity[] {
  const content = message.content;
  const locale = message.locale ? { locale: message.locale } : {};
  const texts = (text: string, format: 'markdown' | 'plain'): OutgoingActivity[] =>
    splitText(text, TEXT_LIMIT).map((part) => ({
      type: 'message',
      text: part,
      textFormat: format,
      ...locale,
    }));
  const fallback = () => texts(renderAsText(content), 'plain');
  switch (content.type) {
    case 'typing':
      return [{ type: 'typing' }];
    case 'text':
      return texts(content.text, content.format === 'markdown' ? 'markdown' : 'plain');
    case 'choices': {
      if (!buttonsFit(content.choices) || content.text.length > CARD_TEXT_LIMIT) return fallback();
      return [
        {
          type: 'message',
          // Shown in notifications and by clients that cannot render the card.
          text: content.text,
          textFormat: 'plain',
          attachments: [adaptiveCard([textBlock(content.text)], content.choices)],
          ...locale,
        },
      ];
    }
    case 'card': {
      const buttons = content.buttons ?? [];
      const words = [content.title, content.subtitle, content.text].filter(Boolean).join('\n');
      if (words.length > CARD_TEXT_LIMIT || (buttons.length > 0 && !buttonsFit(buttons))) return fallback();
      const body: Array<Record<string, unknown>> = [
        textBlock(content.title, { weight: 'Bolder', size: 'Medium' }),
      ];
      if (content.subtitle) body.push(textBlock(content.subtitle, { isSubtle: true, spacing: 'None' }));
      if (content.text) body.push(textBlock(content.text));
      if (content.imageUrl) body.push({ type: 'Image', url: content.imageUrl, altText: content.title });
      return [
        {
          type: 'message',
          text: content.title,
          textFormat: 'plain',
          attachments: [adaptiveCard(body, buttons)],
          ...locale,
        },
      ];
    }
    case 'file':
      // Bots cannot upload into a conversation without Graph/OneDrive consent: a link is what works everywhere.
      return texts(
        [content.caption, `[${content.name}](${content.url})`].filter(Boolean).join('\n\n'),
        'markdown',
      );
  }
}
