import type { Bilingual } from './flows/schema';
import type { Language } from './language';

/** Every fixed sentence the bot says outside flows, in each language it speaks. */
const catalog = {
  emptyMessage: {
    en: 'I received an empty message. What can I help you with?',
    zh: '我收到了一条空消息。请问有什么可以帮您？',
  },
  attachmentOnly: {
    en: 'Thanks, I received your attachment. Could you tell me in words what you need?',
    zh: '已收到您的附件。能否用文字描述一下您需要什么帮助？',
  },
  // Small talk (small-talk.ts): what the bot says back.
  greeting: {
    en: 'Hello! How can I help you today? You can ask me about an order, delivery, returns, payment or invoices.',
    zh: '您好！请问有什么可以帮您？您可以问我订单、物流、退换货、支付或发票等问题。',
  },
  thanks: {
    en: "You're welcome! Is there anything else I can help with?",
    zh: '不客气！还有其他可以帮您的吗？',
  },
  acknowledgement: {
    en: 'OK. Is there anything else I can help with?',
    zh: '好的。还有其他可以帮您的吗？',
  },
  goodbye: {
    en: 'Goodbye, and thank you for contacting us!',
    zh: '再见，感谢您的咨询！',
  },
  staleButton: {
    en: "Sorry, I can't use that button now. Here is what I was asking:",
    zh: '抱歉，这个按钮现在用不了。我刚才的问题是：',
  },
  unusableButton: {
    en: "Sorry, I can't use that button now. Could you tell me in words what you need?",
    zh: '抱歉，这个按钮现在用不了。能否用文字告诉我您需要什么帮助？',
  },
} satisfies Record<string, Record<Language, string>>;

export type MessageKey = keyof typeof catalog;

export function say(key: MessageKey, language: Language): string {
  return catalog[key][language];
}

/** The policy's sentences, rendered like flow messages (`{name}` placeholders). */
export const POLICY_MESSAGES: Record<string, Bilingual> = {
  'policy.waiting': {
    zh: '已为您排队等待人工客服，请稍候；客服会在这里回复您。如不再需要，请回复“取消”。',
    en: 'You are in the queue for a human agent; they will reply here. Say "cancel" if you no longer need one.',
  },
  'policy.waitingTicket': {
    zh: '您的请求已转交人工客服（工单号 {reference}），请稍候，客服会在这里回复您。如不再需要，请回复“取消”。',
    en: 'Your request is with our team already (ticket {reference}). They will reply here; say "cancel" if you no longer need them.',
  },
  'policy.text': { zh: '{text}', en: '{text}' },
  'policy.outOfHours': {
    zh: '现在是非工作时间（人工客服工作时间：{hours}），客服上班后会第一时间回复您。',
    en: 'Our agents are away right now (hours: {hours}); they will reply as soon as they are back.',
  },
  'policy.agentJoined': {
    zh: '人工客服{agent}已接入，将为您继续服务。',
    en: 'An agent{agent} has joined the conversation and will take it from here.',
  },
  'policy.backToBot': {
    zh: '人工客服已结束本次服务。如还有问题，可以继续问我。',
    en: 'The agent has finished with this conversation. If there is anything else, just ask me.',
  },
  'policy.handoffCancelled': {
    zh: '好的，已取消人工客服排队。还有什么可以帮您？',
    en: 'OK, I have taken you out of the queue for an agent. What else can I help with?',
  },
};
