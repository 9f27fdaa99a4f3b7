import { isStopWord, latinWords } from './text-features';

/**
 * Optimal-string-alignment distance (Levenshtein plus swapping two neighbours, "refnud" → "refund"
 * is 1), stopped early once it exceeds `max`.
 */
export function editDistance(a: string, b: string, max: number): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) rows.push([i]);
  for (let j = 1; j <= b.length; j++) (rows[0] as number[])[j] = j;
  for (let i = 1; i <= a.length; i++) {
    const row = rows[i] as number[];
    const up = rows[i - 1] as number[];
    let best = Number.POSITIVE_INFINITY;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min((up[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (up[j - 1] ?? 0) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d = Math.min(d, ((rows[i - 2] as number[])[j - 2] ?? 0) + 1);
      }
      row[j] = d;
      best = Math.min(best, d);
    }
    if (best > max) return max + 1;
  }
  return (rows[a.length] as number[])[b.length] ?? max + 1;
}

/**
 * Corrects misspelt English words of a query to words the knowledge base uses: a query word that
 * appears nowhere in it, of 4 letters or more, becomes the known word at the smallest edit distance
 * (1, or 2 for words of 8+ letters), the more frequent one on a tie. Words it does not know and
 * cannot correct stay as they are, so they still count as unmatched.
 */
export class SpellingVocabulary {
  private readonly counts = new Map<string, number>();
  private readonly byLength = new Map<number, string[]>();

  constructor(texts: Iterable<string>) {
    for (const text of texts) {
      for (const word of new Set(latinWords(text))) this.counts.set(word, (this.counts.get(word) ?? 0) + 1);
    }
    for (const word of this.counts.keys()) {
      if (word.length < 3 || /\d/.test(word)) continue;
      const list = this.byLength.get(word.length) ?? [];
      list.push(word);
      this.byLength.set(word.length, list);
    }
  }

  has(word: string): boolean {
    return this.counts.has(word);
  }

  /** The known word `word` was most likely meant to be, or undefined when it is known or too far. */
  suggest(word: string): string | undefined {
    if (word.length < 4 || this.counts.has(word) || isStopWord(word) || /\d/.test(word)) return undefined;
    const max = word.length >= 8 ? 2 : 1;
    let best: { word: string; distance: number; count: number } | undefined;
    for (let length = word.length - max; length <= word.length + max; length++) {
      for (const known of this.byLength.get(length) ?? []) {
        const distance = editDistance(word, known, max);
        if (distance > max) continue;
        const count = this.counts.get(known) ?? 0;
        if (!best || distance < best.distance || (distance === best.distance && count > best.count)) {
          best = { word: known, distance, count };
        }
      }
    }
    return best?.word;
  }

  /** `query` with each correctable word replaced (the rest of the text untouched). */
  correct(query: string): string {
    return query.replace(/[\p{Script=Latin}'’]+/gu, (raw) => {
      const fixed = this.suggest(raw.toLowerCase());
      return fixed ?? raw;
    });
  }
}
