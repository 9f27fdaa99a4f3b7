import type { Embedder } from './embedder';
import { charBigrams, cjkRuns, isStopWord, segmentWords, stemEnglish } from './text-features';

/**
 * Offline, deterministic dense vectors by feature hashing (the "hashing trick"):
 * Chinese → character unigrams and bigrams; English → stemmed words and character trigrams of each
 * word (so "installments" and "instalments" still overlap). Each feature is hashed into one of
 * `dimensions` buckets with a hashed sign (collisions cancel rather than pile up), counts above 1 are damped
 * to 1 + log(tf), and the vector is L2-normalised so cosine = dot product.
 *
 * What it costs against a real embedding model (e.g. bge-m3 or Qwen3-Embedding behind an
 * OpenAI-compatible server): it only sees surface overlap — no synonyms ("money back" vs "refund"),
 * no paraphrase, no cross-language matching — and unrelated features share buckets. What it saves:
 * no server, no GPU, no download, microseconds per text, identical vectors on every machine.
 */
export class HashEmbedder implements Embedder {
  readonly name = 'hash-ngram';

  constructor(readonly dimensions = 384) {}

  async embed(texts: string[]): Promise<number[][]> {
    return texts.map((text) => this.embedOne(text));
  }

  embedOne(text: string): number[] {
    const vector = new Array<number>(this.dimensions).fill(0);
    for (const [feature, weight] of features(text)) {
      const hash = fnv1a(feature);
      const sign = hash & 0x80000000 ? -1 : 1;
      const bucket = hash % this.dimensions;
      vector[bucket] = (vector[bucket] ?? 0) + sign * damp(weight);
    }
    const norm = Math.hypot(...vector);
    return norm === 0 ? vector : vector.map((value) => value / norm);
  }
}

/** Feature → summed weight. Prefixes keep a Chinese bigram and an English word from sharing a key. */
function features(text: string): Map<string, number> {
  const counts = new Map<string, number>();
  const add = (key: string, weight: number) => counts.set(key, (counts.get(key) ?? 0) + weight);
  for (const run of cjkRuns(text)) {
    for (const char of run) if (!isStopWord(char)) add(`c1:${char}`, 0.5);
    for (const gram of charBigrams(run)) if (!isStopWord(gram)) add(`c2:${gram}`, 1);
  }
  for (const word of segmentWords(text)) {
    if (word.cjk || isStopWord(word.text)) continue;
    add(`w:${stemEnglish(word.text)}`, 1);
    const padded = `^${word.text}$`;
    // Trigrams share one unit of weight per word, so long words do not drown short ones.
    const grams = Math.max(1, padded.length - 2);
    for (let i = 0; i + 3 <= padded.length; i++) add(`t:${padded.slice(i, i + 3)}`, 1 / grams);
  }
  return counts;
}

/** Sublinear term frequency: a word said three times is not three times the topic. */
function damp(weight: number): number {
  return weight <= 1 ? weight : 1 + Math.log(weight);
}

/** 32-bit FNV-1a: fast, stable across Node versions and platforms. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
