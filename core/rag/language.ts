const HAN_OR_KANA = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]/gu;
const LATIN_LETTER = /\p{Script=Latin}/gu;

/**
 * Share of CJK characters among letters at which text counts as Chinese. One Han character carries
 * about as much as a short English word, so a quarter of the letters is already a Chinese sentence
 * with a brand name in it ("iPhone 保修多久"), while "my 订单 hasn't arrived" stays English.
 */
const CJK_SHARE = 0.25;

/** "zh" or "en" from the script of the letters; `fallback` when the text has no letters at all. */
export function detectLanguage(text: string, fallback = 'en'): string {
  const cjk = text.match(HAN_OR_KANA)?.length ?? 0;
  const latin = text.match(LATIN_LETTER)?.length ?? 0;
  if (cjk + latin === 0) return fallback;
  return cjk / (cjk + latin) >= CJK_SHARE ? 'zh' : 'en';
}

/** "zh-CN", "zh_TW", "ZH" → "zh"; "en-US" → "en". */
export function baseLanguage(locale: string): string {
  return locale.toLowerCase().split(/[-_]/)[0] ?? locale;
}
