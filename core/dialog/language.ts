const HAN = /\p{Script=Han}/gu;
const LATIN = /\p{Script=Latin}/gu;

/** The languages the hub answers in. Anything that is not Chinese is answered in English for now. */
export type Language = 'zh' | 'en';

/**
 * Language of a message. Han characters count more than Latin letters because a Chinese sentence
 * carries far fewer characters for the same content ("我的订单 XX12345678 到哪了" is Chinese).
 */
export function detectLanguage(text: string, hint?: string): Language {
  const han = text.match(HAN)?.length ?? 0;
  const latin = text.match(LATIN)?.length ?? 0;
  if (han === 0 && latin === 0) return hint?.toLowerCase().startsWith('zh') ? 'zh' : 'en';
  return han * 3 >= latin ? 'zh' : 'en';
}

/** Unicode NFKC folds full-width forms (ＡＢＣ１２３, full-width space) into their usual shapes. */
export function cleanText(text: string): string {
  return text.normalize('NFKC').replace(/\s+/gu, ' ').trim();
}
