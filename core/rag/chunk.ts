import { countTokens } from '../llm/tokenizer';
import { splitSentences } from './sentences';

export interface ChunkLimits {
  /** Largest chunk, in Qwen3 tokens. */
  maxTokens: number;
  /** Tokens of the previous chunk's last sentences repeated at the start of the next one. */
  overlapTokens: number;
}

/**
 * Sized so that the default prompt budget (6000 tokens) holds topK = 4 chunks with ample room for
 * history; FAQ answers are far shorter, so only long articles are ever split.
 */
export const DEFAULT_CHUNK_LIMITS: ChunkLimits = { maxTokens: 384, overlapTokens: 48 };

/** A piece of text and what joins it to the piece before it (paragraph break or nothing). */
interface Unit {
  text: string;
  joiner: string;
}

/**
 * Split a section into chunks of at most `maxTokens`, on paragraph boundaries first, then sentences,
 * then (for a single oversized sentence) characters. Each chunk after the first starts with the
 * previous chunk's closing sentences, up to `overlapTokens`, so an answer spanning the cut is still
 * found whole in one of them.
 */
export function splitByTokens(text: string, limits: ChunkLimits = DEFAULT_CHUNK_LIMITS): string[] {
  const trimmed = text.trim();
  if (fitsWithin(trimmed, limits.maxTokens)) return trimmed ? [trimmed] : [];
  const chunks: string[] = [];
  let current: Unit[] = [];
  for (const unit of units(trimmed, limits.maxTokens)) {
    if (current.length > 0 && countTokens(joinUnits([...current, unit])) > limits.maxTokens) {
      const done = joinUnits(current);
      chunks.push(done);
      const overlap = tail(done, limits.overlapTokens);
      current = overlap && countTokens(joinUnits([overlap, unit])) <= limits.maxTokens ? [overlap] : [];
    }
    current.push(current.length === 0 ? { text: unit.text, joiner: '' } : unit);
  }
  if (current.length > 0) chunks.push(joinUnits(current));
  return chunks;
}

/**
 * Qwen3's tokenizer is byte-level BPE: every token covers at least one UTF-8 byte, so a text of at
 * most `maxTokens` bytes fits without loading the tokenizer (seconds on a first count). A short
 * entry published from the console is chunked without it.
 */
function fitsWithin(text: string, maxTokens: number): boolean {
  return Buffer.byteLength(text, 'utf8') <= maxTokens || countTokens(text) <= maxTokens;
}

function joinUnits(parts: Unit[]): string {
  return parts
    .map((part, i) => (i === 0 ? part.text : part.joiner + part.text))
    .join('')
    .trim();
}

/** Paragraphs, or the sentences of a paragraph too long to keep whole. */
function* units(text: string, maxTokens: number): Generator<Unit> {
  for (const paragraph of text.split(/\n[ \t]*\n/)) {
    const clean = paragraph.trim();
    if (!clean) continue;
    if (countTokens(clean) <= maxTokens) {
      yield { text: clean, joiner: '\n\n' };
      continue;
    }
    let joiner = '\n\n';
    for (const sentence of splitSentences(clean)) {
      for (const piece of hardSplit(sentence, maxTokens)) {
        yield { text: piece, joiner };
        joiner = '';
      }
    }
  }
}

/** Last resort for one sentence over the limit: cut by characters, never inside a surrogate pair. */
function hardSplit(sentence: string, maxTokens: number): string[] {
  const chars = [...sentence];
  const pieces: string[] = [];
  let start = 0;
  while (start < chars.length) {
    let end = chars.length;
    while (end - start > 1 && countTokens(chars.slice(start, end).join('')) > maxTokens) {
      end = start + Math.floor((end - start) * 0.8);
    }
    pieces.push(chars.slice(start, end).join(''));
    start = end;
  }
  return pieces;
}

/** The closing sentences of `text` that fit in `budget` tokens; undefined when not even one fits. */
function tail(text: string, budget: number): Unit | undefined {
  const sentences = splitSentences(text);
  let taken = '';
  for (let i = sentences.length - 1; i >= 0; i--) {
    const candidate = sentences[i] + taken;
    if (countTokens(candidate.trim()) > budget) break;
    taken = candidate;
  }
  return taken.trim() ? { text: taken.trim(), joiner: '' } : undefined;
}
