import { baseLanguage, detectLanguage as detectByScript } from '../rag/language';

/** The languages the hub answers in. Anything that is not Chinese is answered in English for now. */
export type Language = 'zh' | 'en';

/**
 * Latin words customers of either language type ("ok", "OK", "hmm", "haha", "lol"): they say
 * nothing about the language, like digits, ids and emoji.
 */
const EITHER_LANGUAGE =
  /(?<![\p{L}\p{N}])(?:ok(?:ay)?|k{1,3}|hm+|em+|haha(?:ha)*|lol|thx)(?![\p{L}\p{N}])/giu;

/**
 * The language to answer in: from the letters of the message, else from the hint (the
 * conversation's language, or the channel's locale for a first message).
 */
export function detectLanguage(text: string, hint?: string): Language {
  const fallback = hint && baseLanguage(hint) === 'zh' ? 'zh' : 'en';
  return detectByScript(text.replace(EITHER_LANGUAGE, ' '), fallback) === 'zh' ? 'zh' : 'en';
}
