import { baseLanguage, detectLanguage as detectByScript } from '../rag/language';

/** The languages the hub answers in. Anything that is not Chinese is answered in English for now. */
export type Language = 'zh' | 'en';

/** The language to answer in: from the letters of the message, else from the locale hint. */
export function detectLanguage(text: string, hint?: string): Language {
  const fallback = hint && baseLanguage(hint) === 'zh' ? 'zh' : 'en';
  return detectByScript(text, fallback) === 'zh' ? 'zh' : 'en';
}
