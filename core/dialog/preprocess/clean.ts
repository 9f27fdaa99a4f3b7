/**
 * Text cleaning before entity extraction and intent recognition. Two levels: `cleanText` keeps what
 * the customer wrote (only invisible noise and form variants go); `foldForMatching` also unifies
 * case and punctuation so rules, keywords and the classifier see one spelling.
 */

/** Zero-width characters, BOMs and control characters (tabs and newlines become spaces below). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is the point
const INVISIBLE = /[\u200B-\u200D\u2060\uFEFF\u00AD]|[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/gu;
const HAN = '\\p{Script=Han}';
/** Spaces between two Han characters carry no meaning ("我 要 退货"); between Latin words they do. */
const SPACE_BETWEEN_HAN = new RegExp(`(?<=${HAN})\\s+(?=${HAN})`, 'gu');
/** "？？？", "!!!", "。。。" → one mark: repetition is emphasis, not content (the anger lexicon reads it first). */
const REPEATED_MARK = /([!?。,.，！？、~])\1+/gu;

/**
 * NFKC folds full-width Latin letters, digits and punctuation (ＡＢ１２３ → AB123, `？` → `?`,
 * ideographic space → space) and half-width katakana; then invisible characters go and
 * whitespace collapses. Han text, `。` and `、` are untouched: they have no half-width form.
 */
export function cleanText(text: string): string {
  return text
    .normalize('NFKC')
    .replace(INVISIBLE, '')
    .replace(/\s+/gu, ' ')
    .replace(SPACE_BETWEEN_HAN, '')
    .replace(REPEATED_MARK, '$1')
    .trim();
}

/** Chinese punctuation that NFKC leaves alone, mapped to the ASCII mark with the same role. */
const CJK_PUNCTUATION: Record<string, string> = {
  '。': '.',
  '、': ',',
  '「': '"',
  '」': '"',
  '『': '"',
  '』': '"',
  '“': '"',
  '”': '"',
  '‘': "'",
  '’': "'",
  '《': '"',
  '》': '"',
  '〈': '"',
  '〉': '"',
  '【': '[',
  '】': ']',
  '〔': '[',
  '〕': ']',
  '…': '...',
  '—': '-',
  '–': '-',
  '·': ' ',
  '～': '~',
};
const CJK_PUNCTUATION_RE = new RegExp(`[${Object.keys(CJK_PUNCTUATION).join('')}]`, 'gu');

/** `cleanText`, then Chinese punctuation as ASCII and lower case: the form rules and models match on. */
export function foldForMatching(text: string): string {
  return cleanText(text)
    .replace(CJK_PUNCTUATION_RE, (mark) => CJK_PUNCTUATION[mark] ?? mark)
    .replace(REPEATED_MARK, '$1')
    .toLowerCase();
}
