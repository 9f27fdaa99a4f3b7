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

/** Asking for a person, in either language. */
export const HANDOFF_PHRASES = {
  zh: ['转人工', '人工客服', '人工服务', '找人工', '真人', '客服专员', '接人工', '要人工'],
  en: [
    'human',
    'real person',
    'live agent',
    'an agent',
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
  ],
};
export const NO = {
  zh: ['不', '不是', '不对', '否', '不用', '不要', '算了', '不行', '没有', '没用', '没帮助', '别'],
  en: ['no', 'n', 'nope', 'nah', "don't", 'do not', 'not now', 'negative', 'wrong'],
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

/**
 * The whole message is an answer to a yes/no question: it starts with a yes or no word and says
 * little else ("好的，确认", "yes please", "不用了"). A longer message is something else.
 */
export function yesOrNo(folded: string): 'yes' | 'no' | undefined {
  const text = folded.replace(/[\s,.!?~。，！？]+/gu, ' ').trim();
  if (!text || Array.from(text).length > 24) return undefined;
  const starts = (words: { zh: string[]; en: string[] }) =>
    [...words.zh, ...words.en]
      .sort((a, b) => b.length - a.length)
      .find((w) =>
        /\p{Script=Han}/u.test(w)
          ? // "是这样的，…" starts with 是 but is a story: a Han word must end the answer or nearly.
            text.startsWith(w) &&
            (Array.from(text).length <= Array.from(w).length + 4 || text.charAt(w.length) === ' ')
          : new RegExp(`^${escapeRegex(w)}(?![\\p{L}])`, 'u').test(text),
      );
  const no = starts(NO);
  const yes = starts(YES);
  // "不是" starts with no, "是" would match inside it only if we checked substrings; longest prefix wins.
  if (no && (!yes || no.length >= yes.length)) return 'no';
  if (yes) return 'yes';
  return undefined;
}
