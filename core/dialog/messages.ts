import type { Language } from './language';

/** Every fixed sentence the bot says, in each language it speaks. */
const catalog = {
  emptyMessage: {
    en: 'I received an empty message. What can I help you with?',
    zh: '我收到了一条空消息。请问有什么可以帮您？',
  },
  attachmentOnly: {
    en: 'Thanks, I received your attachment. Could you tell me in words what you need?',
    zh: '已收到您的附件。能否用文字描述一下您需要什么帮助？',
  },
  humanOwnsConversation: {
    en: 'An agent is handling this conversation.',
    zh: '人工客服正在处理此会话。',
  },
} satisfies Record<string, Record<Language, string>>;

export type MessageKey = keyof typeof catalog;

export function say(key: MessageKey, language: Language): string {
  return catalog[key][language];
}
