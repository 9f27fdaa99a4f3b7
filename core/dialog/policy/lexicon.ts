/**
 * Small bilingual lexicons the policy reads. They are deliberately short and conservative: a false
 * handoff costs an agent's minute, a missed one costs a customer's patience, and both are logged.
 */

/** Strong words count 2, mild ones 1. Matched on the folded text (lower case). */
export const ANGER_WORDS: { zh: Record<string, number>; en: Record<string, number> } = {
  zh: {
    垃圾: 2,
    骗子: 2,
    气死: 2,
    受够了: 2,
    滚: 2,
    妈的: 2,
    他妈: 2,

    太差劲: 2,
    什么破: 2,
    欺骗: 2,
    恶心: 2,
    无语: 1,
    太慢了: 1,
    失望: 1,
    生气: 1,
    离谱: 1,
    差评: 1,
    烂: 1,
  },
  en: {
    scam: 2,
    furious: 2,
    'fed up': 2,
    wtf: 2,
    'stupid bot': 2,
    useless: 2,
    ridiculous: 2,
    unacceptable: 2,
    'worst service': 2,
    pathetic: 2,
    angry: 1,
    terrible: 1,
    awful: 1,
    disappointed: 1,
    annoyed: 1,
    'sick of': 1,
  },
};

/**
 * A short message that is only this asks for a person ("agent", "人工", "agent please"); inside a
 * longer message these words mean something else ("the delivery agent was rude", "人工智能").
 */
export const HANDOFF_COMMANDS = {
  zh: ['人工', '客服', '真人客服', '人工客服', '转人工', '找客服', '联系客服'],
  en: ['agent', 'agents', 'human', 'person', 'a person', 'support', 'customer service', 'operator'],
};

/** Asking for a person, in either language. */
export const HANDOFF_PHRASES = {
  zh: ['转人工', '人工客服', '人工服务', '找人工', '真人', '客服专员', '接人工', '要人工'],
  en: [
    'human',
    'real person',
    'live agent',
    'an agent',
    'to agent',
    'the agent',
    'human agent',
    'real agent',
    'speak to someone',
    'talk to someone',
    'representative',
    'operator',
  ],
};

export const YES = {
  zh: [
    '是',
    '是的',
    '对',
    '对的',
    '好',
    '好的',
    '可以',
    '确认',
    '确定',
    '没问题',
    '嗯',
    '行',
    '要',
    '有帮助',
    '有用',
    '解决了',
    '提交',
    '确认提交',
  ],
  en: [
    'yes',
    'y',
    'yeah',
    'yep',
    'sure',
    'ok',
    'okay',
    'confirm',
    'correct',
    'right',
    'please do',
    'go ahead',
    'yup',
    'yea',
    'ya',
    'of course',
    'absolutely',
    'it did',
    'it helped',
    'that helped',
    'helpful',
    'got it',
    'do it',
    'submit',
    'submit it',
    'send it',
  ],
};
export const NO = {
  zh: [
    '不',
    '不是',
    '不对',
    '否',
    '不用',
    '不要',
    '算了',
    '不行',
    '没有',
    '没用',
    '没帮助',
    '没有帮助',
    '没解决',
    '不需要',
    '不好',
    '别',
  ],
  en: [
    'no',
    'n',
    'nope',
    'nah',
    "don't",
    'do not',
    'not now',
    'negative',
    'wrong',
    'not really',
    "didn't",
    'did not',
    "doesn't",
    'not helpful',
  ],
};
export const CANCEL_WORDS = {
  zh: ['取消', '算了', '不办了', '退出', '不用了'],
  en: ['cancel', 'stop', 'never mind', 'nevermind', 'forget it', 'quit', 'exit'],
};
export const RESTART_WORDS = {
  zh: ['重新开始', '重来', '从头开始', '重新来'],
  en: ['start over', 'restart', 'start again', 'begin again'],
};

const escapeRegex = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** English phrases match as whole words; Chinese ones as substrings. */
export function containsPhrase(folded: string, phrase: string): boolean {
  if (/\p{Script=Han}/u.test(phrase)) return folded.includes(phrase);
  return new RegExp(`(?<![\\p{L}\\p{N}])${escapeRegex(phrase)}(?![\\p{L}\\p{N}])`, 'u').test(folded);
}

export function anyPhrase(folded: string, words: { zh: string[]; en: string[] }): string | undefined {
  return [...words.zh, ...words.en].find((phrase) => containsPhrase(folded, phrase));
}

/** Words that may go with a short yes or no without making it anything else ("yes please", "不用了"). */
export const REPLY_FILLERS = {
  zh: [
    '了',
    '啊',
    '呀',
    '吧',
    '哦',
    '噢',
    '喔',
    '啦',
    '嘛',
    '的',
    '很',
    '挺',
    '非常',
    '谢谢',
    '谢谢你',
    '谢谢您',
    '多谢',
    '谢啦',
    '您',
  ],
  en: [
    'please',
    'thanks',
    'thank you',
    'thx',
    'ty',
    'very much',
    'so much',
    'a lot',
    'then',
    'indeed',
    'thats',
    "that's",
    'it',
    'sir',
  ],
};

/** Emoji that are answers themselves; any other emoji is decoration around the words. */
const EMOJI_WORDS: Record<string, string> = {
  '👍': ' yes ',
  '👌': ' ok ',
  '✅': ' yes ',
  '👎': ' no ',
  '❌': ' no ',
};

/**
 * The message without decoration: lower case, emoji that answer read as their word, every other
 * emoji, punctuation and symbol a space. What `coveredBy` reads.
 */
export function bareReply(folded: string): string {
  let text = folded.toLowerCase();
  for (const [emoji, word] of Object.entries(EMOJI_WORDS)) text = text.replaceAll(emoji, word);
  return text
    .replace(/(?:[\p{P}\p{S}\p{Extended_Pictographic}]|\u200d|\ufe0f)+/gu, (match) =>
      // "don't" keeps its apostrophe: the lexicons spell it so.
      match === "'" || match === '\u2019' ? "'" : ' ',
    )
    .replace(/\s+/gu, ' ')
    .trim();
}

/**
 * The whole text read as a run of lexicon phrases (longest first at each place; English phrases
 * end at a word boundary, Chinese ones anywhere), or undefined when any part is not one of them.
 */
export function coveredBy(text: string, phrases: readonly string[]): string[] | undefined {
  const sorted = [...new Set(phrases)].sort((a, b) => b.length - a.length);
  const found: string[] = [];
  let at = 0;
  while (at < text.length) {
    if (text[at] === ' ') {
      at++;
      continue;
    }
    const phrase = sorted.find(
      (p) =>
        text.startsWith(p, at) &&
        (/\p{Script=Han}/u.test(p) || !/[\p{L}\p{N}]/u.test(text.charAt(at + p.length))),
    );
    if (!phrase) return undefined;
    found.push(phrase);
    at += phrase.length;
  }
  return found;
}

/** Longer than this, a message is never just a yes or no. */
const SHORT_REPLY = 24;

/**
 * The whole message is a yes or a no, and nothing else: yes/no words, perhaps with a filler
 * ("yes please", "好的，确认", "不用了", "no thanks", "👍"), punctuation and emoji. "可以开发票吗？"
 * and "是的 我想问下能用支付宝吗" are not: they go on as new questions. Mixed yes and no is neither.
 */
export function yesOrNo(folded: string): 'yes' | 'no' | undefined {
  const text = bareReply(folded);
  if (!text || Array.from(text).length > SHORT_REPLY) return undefined;
  const words = coveredBy(text, [
    ...YES.zh,
    ...YES.en,
    ...NO.zh,
    ...NO.en,
    ...REPLY_FILLERS.zh,
    ...REPLY_FILLERS.en,
  ]);
  if (!words) return undefined;
  const isNo = (w: string) => NO.zh.includes(w) || NO.en.includes(w);
  const isYes = (w: string) => YES.zh.includes(w) || YES.en.includes(w);
  const yes = words.some(isYes);
  const no = words.some(isNo);
  if (yes === no) return undefined;
  return yes ? 'yes' : 'no';
}

/**
 * Starts like an answer to a yes/no question but says more ("yes, go ahead and file it tomorrow"):
 * a confirm step that guards an irreversible action asks again rather than guessing.
 */
export function startsWithYesOrNo(folded: string): boolean {
  const text = bareReply(folded);
  return [...YES.zh, ...YES.en, ...NO.zh, ...NO.en].some((w) =>
    /\p{Script=Han}/u.test(w)
      ? text.startsWith(w)
      : new RegExp(`^${escapeRegex(w)}(?![\\p{L}])`, 'u').test(text),
  );
}

/** A question rather than an answer: a question mark, or a Chinese question particle at the end. */
export function isQuestion(text: string): boolean {
  const trimmed = text.trim();
  return /[?？]/u.test(trimmed) || /[吗呢么]\s*$/u.test(trimmed);
}

/**
 * "是的 我想问下能用支付宝吗", "yes, and can I pay by card?": a yes or no word, a pause, then a
 * message of its own. That message, without the word, is what the turn is about; anything else is
 * returned as it is (the word is part of the sentence in "可以开发票吗").
 */
export function afterYesOrNo(text: string): string {
  const words = [...YES.zh, ...YES.en, ...NO.zh, ...NO.en].sort((a, b) => b.length - a.length);
  const lower = text.toLowerCase();
  if (yesOrNo(lower) !== undefined) return text;
  for (const word of words) {
    if (!lower.startsWith(word)) continue;
    const pause = /^[\s,，.。!！、~～]+/u.exec(text.slice(word.length));
    if (!pause) continue;
    const rest = text.slice(word.length + pause[0].length).trim();
    return Array.from(rest).length >= 4 && yesOrNo(rest.toLowerCase()) === undefined ? rest : text;
  }
  return text;
}
