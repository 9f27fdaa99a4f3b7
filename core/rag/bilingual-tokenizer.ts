import type { Tokenizer } from '@orama/orama';
import { jiebaWords } from './chinese-words';
import { charBigrams, charGrams, cjkRuns, isStopWord, segmentWords, stemEnglish } from './text-features';

/**
 * Orama's radix tree matches every indexed term that starts with a query term, so the single
 * character 退 would match 退货, 退款 and 退回 alike. Ending each term with this marker makes a term
 * match only itself (+3 to +6 points of top-1 hits in test/unit/rag-measure.ts).
 */
const TERM_END = '\u0001';
/** Text that starts with this is a list of prepared character n-grams (`gramText`), kept as they are. */
const GRAMS = '\u0002';

export interface BilingualTokenizerOptions {
  /** Character bigrams over Chinese runs (default true). */
  bigrams?: boolean;
  /** jieba's words next to ICU's for Chinese (default true). */
  jieba?: boolean;
  /** Whole-term matching instead of Orama's prefix matching (default true). */
  wholeTerms?: boolean;
}

/**
 * Terms for BM25 in both languages from one tokenizer: ICU words (Chinese dictionary words, English
 * words stemmed), jieba's words for Chinese (a real segmenter: 退回来, 啥时候, 增值税), plus
 * character bigrams over Chinese runs so that a word the segmenters cut differently in the question
 * and in the passage (开发|票 vs 发票) still matches. Stop words and question words dropped.
 */
export function bilingualTerms(
  text: string,
  { bigrams = true, jieba = true }: BilingualTokenizerOptions = {},
): string[] {
  const terms = new Set<string>();
  for (const word of segmentWords(text)) {
    if (isStopWord(word.text)) continue;
    terms.add(word.cjk ? word.text : stemEnglish(word.text));
  }
  const runs = cjkRuns(text);
  if (jieba) {
    for (const run of runs) for (const word of jiebaWords(run)) if (!isStopWord(word)) terms.add(word);
  }
  if (bigrams) {
    for (const run of runs) for (const gram of charBigrams(run)) if (!isStopWord(gram)) terms.add(gram);
  }
  return [...terms];
}

/** The text of a grams field or query: `charGrams`, marked so the tokenizer keeps them whole. */
export function gramText(text: string): string {
  return `${GRAMS}${charGrams(text).join(' ')}`;
}

/** Orama tokenizer over `bilingualTerms` (or prepared grams); the same one runs on documents and on queries. */
export function createBilingualTokenizer(options: BilingualTokenizerOptions = {}): Tokenizer {
  const suffix = options.wholeTerms === false ? '' : TERM_END;
  return {
    language: 'bilingual',
    normalizationCache: new Map(),
    tokenize: (raw: string) => {
      if (typeof raw !== 'string') return [raw];
      if (raw.startsWith(GRAMS))
        return raw
          .slice(1)
          .split(' ')
          .filter(Boolean)
          .map((g) => g + suffix);
      return bilingualTerms(raw, options).map((term) => term + suffix);
    },
  };
}
