import type { ConversationRef } from './conversation';

export interface Citation {
  /** Knowledge passage id. */
  id: string;
  title: string;
  source: string;
  url?: string;
}

export interface Choice {
  id: string;
  title: string;
}

export type OutboundContent =
  | { type: 'text'; text: string; format?: 'plain' | 'markdown' }
  | { type: 'choices'; text: string; choices: Choice[] }
  | {
      type: 'card';
      title: string;
      subtitle?: string;
      text?: string;
      imageUrl?: string;
      buttons?: Choice[];
    }
  | { type: 'file'; url: string; name: string; mimeType?: string; caption?: string }
  | { type: 'typing' };

export interface OutboundMessage {
  /** Idempotency key: stable across retries of the same turn (e.g. `${inReplyTo}#${index}`). */
  id: string;
  ref: ConversationRef;
  /** Inbound event this answers. */
  inReplyTo?: string;
  content: OutboundContent;
  citations?: Citation[];
  locale?: string;
  createdAt: string;
  /** How the answer was produced, for metrics and the transcript. */
  source?: 'llm' | 'extractive' | 'flow' | 'system' | 'agent';
  /**
   * Set when a person wrote the words (an agent's reply from the helpdesk), not the bot: a channel
   * shows them as the agent's, under the name the helpdesk gave when it gave one.
   */
  author?: { kind: 'agent'; name?: string };
  /**
   * Set when, after this message, a person is awaited (`waiting`) or owns the conversation (`human`);
   * absent: the bot answers. A chat channel shows no "typing" while the customer waits for a person.
   */
  handoff?: 'waiting' | 'human';
  /**
   * Set on the reply feed only, never stored: this message is reply `index` (from 0) of the `count`
   * its turn stored, so a process waiting for the turn's answer (the REST channel) has all of it
   * from the feed without reading the database.
   */
  turnReplies?: { index: number; count: number };
}

/** Plain-text rendering every channel can fall back to (style rule 5: degrade, don't drop). */
export function renderAsText(content: OutboundContent): string {
  switch (content.type) {
    case 'text':
      return content.text;
    case 'choices':
      return [content.text, ...content.choices.map((c, i) => `${i + 1}. ${c.title}`)].join('\n');
    case 'card':
      return [
        content.title,
        content.subtitle,
        content.text,
        ...(content.buttons ?? []).map((b) => `- ${b.title}`),
      ]
        .filter(Boolean)
        .join('\n');
    case 'file':
      return [content.caption, `${content.name}: ${content.url}`].filter(Boolean).join('\n');
    case 'typing':
      return '';
  }
}
