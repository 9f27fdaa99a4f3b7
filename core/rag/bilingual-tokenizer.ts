import type { Tokenizer } from '@orama/orama';
import { charBigrams, cjkRuns, isStopWord, segmentWords, stemEnglish } from './text-features';

/**
 * Orama's radix tree matches every indexed term that starts with a query term, so the single
 * character 退 would match 退货, 退款 and 退回 alike. Ending each term with this marker makes a term
 * match only itself (+3 to +6 points of top-1 hits in test/unit/rag-measure.ts).
 */
const TERM_END = '\u0001';

export interface BilingualTokenizerOptions {
  /** Character bigrams over Chinese runs (default true). */
  bigrams?: boolean;
  /** Whole-term matching instead of Orama's prefix matching (default true). */
  wholeTerms?: boolean;
}

/**
 * Terms for BM25 in both languages from one tokenizer: ICU words (Chinese dictionary words, English
 * words stemmed), plus character bigrams over Chinese runs so that a word ICU cuts differently in the
 * question and in the passage (开发|票 vs 发票) still matches. Stop words and question words dropped.
 */
export function bilingualTerms(text: string, { bigrams = true }: BilingualTokenizerOptions = {}): string[] {
  const terms = new Set<string>();
  for (const word of segmentWords(text)) {
    if (isStopWord(word.text)) continue;
    terms.add(word.cjk ? word.text : stemEnglish(word.text));
  }
  if (bigrams) {
    for (const run of cjkRuns(text))
      for (const gram of charBigrams(run)) if (!isStopWord(gram)) terms.add(gram);
  }
  return [...terms];
}

/** Orama tokenizer over `bilingualTerms`; the same one runs on documents and on queries. */
export function createBilingualTokenizer(options: BilingualTokenizerOptions = {}): Tokenizer {
  const suffix = options.wholeTerms === false ? '' : TERM_END;
  return {
    language: 'bilingual',
    normalizationCache: new Map(),
    tokenize: (raw: string) =>
      typeof raw === 'string' ? bilingualTerms(raw, options).map((term) => term + suffix) : [raw],
  };
}
