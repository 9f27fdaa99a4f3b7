import { foldForMatching } from '../preprocess/clean';

/**
 * Sparse features of one utterance, as the classifier sees it:
 * - Han runs: character n-grams of length 1 to 4 (Chinese has no spaces; n-grams stand in for words);
 * - Latin words: the words, word bigrams, and character n-grams of length 2 to 4 inside each word
 *   padded with spaces (sklearn's `char_wb`), which carry morphology and typos ("refund", "refunded").
 * Returns the feature strings with repeats; counting is the caller's.
 */
export function featuresOf(text: string, charNgrams: readonly [number, number] = [2, 4]): string[] {
  const folded = foldForMatching(text);
  const features: string[] = [];
  for (const run of folded.match(/\p{Script=Han}+/gu) ?? []) {
    const chars = Array.from(run);
    for (let n = 1; n <= 4; n++) {
      for (let i = 0; i + n <= chars.length; i++) features.push(`h:${chars.slice(i, i + n).join('')}`);
    }
  }
  const words = folded.match(/[\p{Script=Latin}\p{N}]+(?:'[\p{Script=Latin}]+)?/gu) ?? [];
  for (let i = 0; i < words.length; i++) {
    const word = words[i] as string;
    features.push(`w:${word}`);
    if (i + 1 < words.length) features.push(`b:${word} ${words[i + 1]}`);
    const padded = ` ${word} `;
    for (let n = charNgrams[0]; n <= charNgrams[1]; n++) {
      for (let j = 0; j + n <= padded.length; j++) features.push(`c:${padded.slice(j, j + n)}`);
    }
  }
  return features;
}
