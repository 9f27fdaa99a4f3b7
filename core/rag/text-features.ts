import { tokenizer as oramaTokenizer } from '@orama/orama/components';

/** Word segmentation for Chinese from ICU's dictionary (Node ships full ICU); it also splits Latin words. */
const segmenter = new Intl.Segmenter('zh-CN', { granularity: 'word' });
const CJK_RUN = /^[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]+$/u;
const LATIN_WORD = /^[\p{Script=Latin}\p{N}'’]+$/u;
const stem = oramaTokenizer.createTokenizer({ language: 'english', stemming: true }).stemmer as (
  w: string,
) => string;

/**
 * Words that carry no topic in a support question. Removing them matters most for the hashed vector,
 * which has no IDF to discount them; BM25 discounts them anyway.
 */
const STOP_WORDS = new Set([
  ...'a an and are as at be been but by can could did do does for from had has have how i if in into is it its me my no not of on or our so that the their them there they this to was we were what when where which who why will with would you your'.split(
    ' ',
  ),
  ...'的 了 吗 呢 吧 啊 呀 么 我 你 您 他 她 它 们 是 在 和 与 及 或 都 也 就 还 这 那 个 着 过 把 被 让 给 对 要 会 能 想 请 下 一 有 没 不'.split(
    ' ',
  ),
  // Question words: every FAQ heading has one, so they match headings, not topics.
  ...'什么 怎么 怎样 如何 为什么 哪 哪里 哪儿 哪些 哪个 可以 我们 你们 我的 吗 啥 咋 咋办 怎么办 能不能 可不可以 是不是 有没有 能用 可以用'.split(
    ' ',
  ),
  // Chat filler in English questions.
  ..."pls please u ur im i’m i'm hi hello thanks thank any some about just".split(' '),
]);

export interface Word {
  text: string;
  cjk: boolean;
}

/** NFKC, lower case: the one normalisation every feature starts from. */
export function normalize(text: string): string {
  return text.normalize('NFKC').toLowerCase();
}

/** Lower-cased, width-folded word segments, stop words kept (callers decide). */
export function segmentWords(text: string): Word[] {
  const words: Word[] = [];
  for (const segment of segmenter.segment(normalize(text))) {
    if (!segment.isWordLike) continue;
    words.push({ text: segment.segment, cjk: CJK_RUN.test(segment.segment) });
  }
  return words;
}

/** Lower-cased Latin words (letters, digits, apostrophes), unstemmed: the spelling vocabulary. */
export function latinWords(text: string): string[] {
  return segmentWords(text)
    .filter((w) => !w.cjk && LATIN_WORD.test(w.text))
    .map((w) => w.text);
}

export function isStopWord(word: string): boolean {
  return STOP_WORDS.has(word);
}

export function stemEnglish(word: string): string {
  return stem(word);
}

const CJK_RUNS = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]+/gu;

/**
 * Unbroken stretches of CJK text. ICU splits unknown compounds into single characters
 * ("开发票" → 开发|票), so bigrams are taken over the run, across the segmenter's cuts.
 */
export function cjkRuns(text: string): string[] {
  return text.normalize('NFKC').match(CJK_RUNS) ?? [];
}

export function charBigrams(run: string): string[] {
  const chars = [...run];
  const grams: string[] = [];
  for (let i = 0; i + 1 < chars.length; i++) grams.push(chars.slice(i, i + 2).join(''));
  return grams;
}

/**
 * Character n-grams for fuzzy matching: each English word of 4+ letters as 3-grams with its ends
 * marked ("refund" → ^re ref efu fun und nd$), so a misspelt word still shares most of its grams;
 * each Chinese character that is not a stop word on its own, so 钱 meets 退款 where no word does.
 */
export function charGrams(text: string): string[] {
  const grams: string[] = [];
  for (const word of latinWords(text)) {
    if (word.length < 4 || isStopWord(word)) continue;
    const padded = `^${word}$`;
    for (let i = 0; i + 3 <= padded.length; i++) grams.push(padded.slice(i, i + 3));
  }
  for (const run of cjkRuns(text)) for (const char of run) if (!isStopWord(char)) grams.push(char);
  return grams;
}
