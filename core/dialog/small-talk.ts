import { bareReply, coveredBy } from './policy/lexicon';

/**
 * Small talk: a greeting, a thanks, a goodbye, by rule. Only a message that is nothing else counts:
 * "hi, where is my order" is the question, "谢谢，再问一下发票" too. Short and conservative, like the
 * policy's lexicons; anything it misses goes on to intent recognition and retrieval.
 */
export type SmallTalk = 'greeting' | 'thanks' | 'goodbye' | 'acknowledgement';

const PHRASES: Record<SmallTalk, { zh: string[]; en: string[] }> = {
  greeting: {
    zh: [
      '你好',
      '您好',
      '你们好',
      '大家好',
      '嗨',
      '哈喽',
      '哈啰',
      '在吗',
      '在不在',
      '有人吗',
      '早上好',
      '上午好',
      '中午好',
      '下午好',
      '晚上好',
      '早安',
      '早',
    ],
    en: [
      'hi',
      'hello',
      'hey',
      'heya',
      'hiya',
      'howdy',
      'greetings',
      'good morning',
      'good afternoon',
      'good evening',
      'morning',
      'anyone there',
      'is anyone there',
      'are you there',
    ],
  },
  thanks: {
    zh: [
      '谢谢',
      '谢谢你',
      '谢谢您',
      '多谢',
      '感谢',
      '非常感谢',
      '太感谢了',
      '谢了',
      '谢啦',
      '辛苦了',
      '麻烦了',
    ],
    en: [
      'thanks',
      'thank you',
      'thank u',
      'thx',
      'ty',
      'cheers',
      'many thanks',
      'much appreciated',
      'appreciate it',
      'appreciated',
    ],
  },
  // "ok" with nothing asked: noted, not a question the knowledge base could not answer.
  acknowledgement: {
    zh: [
      '好的',
      '好',
      '好吧',
      '嗯',
      '嗯嗯',
      '哦',
      '噢',
      '知道了',
      '明白了',
      '明白',
      '了解',
      '收到',
      '行',
      '好滴',
      '好嘞',
    ],
    en: ['ok', 'okay', 'k', 'alright', 'all right', 'got it', 'i see', 'cool', 'fine', 'noted', 'understood'],
  },
  goodbye: {
    zh: ['再见', '拜拜', '拜', '回头见', '下次见', '晚安', '没事了', '没有了', '没问题了'],
    en: [
      'bye',
      'goodbye',
      'good bye',
      'bye bye',
      'see you',
      'see ya',
      'good night',
      'take care',
      "that's all",
      'that is all',
      'have a nice day',
      'have a good day',
    ],
  },
};

/** Words that may go with small talk without making it a question ("hi there", "thanks a lot!"). */
const FILLERS = {
  zh: [
    '啊',
    '呀',
    '哦',
    '啦',
    '了',
    '的',
    '呢',
    '哈',
    '嘿',
    '你',
    '您',
    '客服',
    '机器人',
    '小助手',
    '好的',
    '好',
    '嗯',
    '非常',
    '很',
    '哈哈',
  ],
  en: [
    'there',
    'bot',
    'again',
    'so much',
    'very much',
    'a lot',
    'all',
    'everyone',
    'guys',
    'for',
    'your help',
    'the help',
    'help',
    'you',
    'ok',
    'okay',
    'great',
    'nice',
    'so',
    'and',
    'oh',
    'ah',
    'well',
    'dear',
    'team',
    'now',
    'for now',
  ],
};

/** Longer than this, a message says more than hello. */
const SHORT = 40;

/**
 * The small talk the whole message is, or undefined. A goodbye outweighs a thanks, a thanks a
 * greeting, and any of them a plain "ok".
 */
export function smallTalkOf(folded: string): SmallTalk | undefined {
  const text = bareReply(folded);
  if (!text || Array.from(text).length > SHORT) return undefined;
  const kinds = Object.keys(PHRASES) as SmallTalk[];
  const all = kinds.flatMap((kind) => [...PHRASES[kind].zh, ...PHRASES[kind].en]);
  const words = coveredBy(text, [...all, ...FILLERS.zh, ...FILLERS.en]);
  if (!words) return undefined;
  const said = (kind: SmallTalk) =>
    words.some((w) => PHRASES[kind].zh.includes(w) || PHRASES[kind].en.includes(w));
  return (['goodbye', 'thanks', 'greeting', 'acknowledgement'] as const).find(said);
}
