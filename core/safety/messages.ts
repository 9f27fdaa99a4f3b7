/** The fixed replies of content safety, in each language the bot speaks. */
export const SAFETY_MESSAGES = {
  refuse: {
    en: "Sorry, I can't help with that request. If you have a question about our products or services, I'm happy to help.",
    zh: '抱歉，这个请求我无法协助。如果您有关于我们产品或服务的问题，我很乐意为您解答。',
  },
  handoff: {
    en: "I can't answer that myself, so I'm passing your conversation to a colleague.",
    zh: '这个问题我无法直接回答，正在为您转接人工客服。',
  },
  injection: {
    en: "Sorry, I can't change how I work or share my instructions. What can I help you with about our products or services?",
    zh: '抱歉，我不能更改我的工作方式，也不能透露我的指令。请问有什么关于产品或服务的问题可以帮您？',
  },
  /** A generated answer that failed a check: nothing of it is sent. */
  unsafeAnswer: {
    en: 'Sorry, I can\'t give you a reliable answer to that here. Type "agent" and a colleague will help you.',
    zh: '抱歉，这个问题我无法给出可靠的答复。请输入“人工”，由客服同事为您解答。',
  },
} as const;

export type SafetyMessageKey = keyof typeof SAFETY_MESSAGES;
