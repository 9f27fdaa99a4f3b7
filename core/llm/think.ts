const OPEN = '<think>';
const CLOSE = '</think>';

/** Length of the longest suffix of `text` that is a proper prefix of `tag` (a tag split across chunks). */
function partialTagLength(text: string, tag: string): number {
  for (let length = Math.min(tag.length - 1, text.length); length > 0; length--) {
    if (text.endsWith(tag.slice(0, length))) return length;
  }
  return 0;
}

/**
 * Removes Qwen3 `<think>…</think>` blocks from text that arrives in pieces. Even with thinking off,
 * Qwen3 may emit an empty `<think>\n\n</think>\n\n` preamble, and a server without a reasoning parser
 * leaves real reasoning inline; neither may reach a customer, so this runs on every reply, streamed or not.
 */
export class ThinkStripper {
  private pending = '';
  private inside = false;
  /** Whitespace right after a think block (or at the very start) is template padding, not answer text. */
  private skipWhitespace = true;

  /** Feed a chunk; returns the text that is now known to be visible. */
  push(chunk: string): string {
    this.pending += chunk;
    let visible = '';
    for (;;) {
      const tag = this.inside ? CLOSE : OPEN;
      const index = this.pending.indexOf(tag);
      if (index >= 0) {
        if (!this.inside) visible += this.emit(this.pending.slice(0, index));
        this.pending = this.pending.slice(index + tag.length);
        this.inside = !this.inside;
        if (!this.inside) this.skipWhitespace = true;
        continue;
      }
      const keep = partialTagLength(this.pending, tag);
      const settled = this.pending.slice(0, this.pending.length - keep);
      if (!this.inside) visible += this.emit(settled);
      this.pending = this.pending.slice(settled.length);
      return visible;
    }
  }

  /** End of input: a held-back partial tag was text after all; an unclosed think block is dropped. */
  flush(): string {
    const rest = this.inside ? '' : this.emit(this.pending);
    this.pending = '';
    return rest;
  }

  private emit(text: string): string {
    if (!this.skipWhitespace) return text;
    const trimmed = text.trimStart();
    if (trimmed.length > 0) this.skipWhitespace = false;
    return trimmed;
  }
}

export function stripThink(text: string): string {
  const stripper = new ThinkStripper();
  return stripper.push(text) + stripper.flush();
}
