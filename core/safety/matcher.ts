import AhoCorasick from 'modern-ahocorasick';
import { fold } from './fold';
import type { LexiconEntry } from './lexicon';

/** A lexicon word found in a text. */
export interface SafetyHit {
  category: string;
  word: string;
  /** The text as written where the word was found. */
  found: string;
  action: LexiconEntry['action'];
  output: LexiconEntry['output'];
}

const HAN = /\p{Script=Han}/u;

interface Pattern {
  entry: LexiconEntry;
  /** A form with Latin letters must start and end on word boundaries. */
  bounded: boolean;
}

/**
 * Every lexicon word and form in one Aho–Corasick automaton (modern-ahocorasick, MIT), matched in
 * the folded text (fold.ts): one pass over the message whatever the size of the lexicon.
 */
export class SafetyMatcher {
  private readonly automaton: AhoCorasick<Pattern> | undefined;
  readonly size: number;

  constructor(entries: readonly LexiconEntry[]) {
    const patterns = new Map<string, Pattern>();
    for (const entry of entries) {
      for (const form of entry.forms) {
        const folded = fold(form).text;
        // The first entry of a form wins: a tenant's own lexicon comes before the shared one.
        if (folded && !patterns.has(folded)) {
          patterns.set(folded, { entry, bounded: !Array.from(folded).every((c) => HAN.test(c)) });
        }
      }
    }
    this.size = patterns.size;
    this.automaton = patterns.size
      ? new AhoCorasick([...patterns].map(([pattern, data]) => ({ pattern, data })))
      : undefined;
  }

  /** The words found, one hit per lexicon word. */
  scan(text: string): SafetyHit[] {
    if (!this.automaton || !text) return [];
    const folded = fold(text);
    const hits = new Map<string, SafetyHit>();
    for (const match of this.automaton.search(folded.text, { strategy: 'all' })) {
      const pattern = match.data;
      if (!pattern) continue;
      const first = Array.from(match.pattern)[0] as string;
      const last = Array.from(match.pattern).at(-1) as string;
      // A Latin edge must sit on a boundary; a Han edge needs none (Chinese has no spaces).
      if (pattern.bounded && !HAN.test(first) && !folded.starts[match.start]) continue;
      if (pattern.bounded && !HAN.test(last) && !folded.ends[match.end - 1]) continue;
      const { entry } = pattern;
      const key = `${entry.category}\u0000${entry.word}`;
      if (hits.has(key)) continue;
      const from = folded.origin[match.start] ?? 0;
      const to = (folded.origin[match.end - 1] ?? from) + 1;
      hits.set(key, {
        category: entry.category,
        word: entry.word,
        found: text.slice(from, to),
        action: entry.action,
        output: entry.output,
      });
    }
    return [...hits.values()];
  }
}
