import { z } from 'zod';
import { countMessageTokens } from '../../llm/tokenizer';
import type { Turn } from '../../types';

export const contextConfigSchema = z
  .object({
    /** The model's context (Qwen3-14B served with 8K). */
    contextTokens: z.number().int().positive().default(8192),
    /** Kept free for the system prompt, the retrieved passages and the answer. */
    reservedTokens: z.number().int().min(0).default(5120),
    /** At most this many of the history tokens go to the summary of dropped turns. */
    summaryTokens: z.number().int().min(0).default(256),
  })
  .prefault({});
export type ContextConfig = z.infer<typeof contextConfigSchema>;

export interface HistoryWindow {
  /** The newest turns that fit, whole, oldest first. */
  turns: Turn[];
  /** A rule-made note of what was dropped (its customer questions, newest kept first), or undefined. */
  summary?: string;
  dropped: number;
  tokens: number;
}

export type TokenCounter = (role: string, content: string) => number;

/**
 * The history that fits the model's context: whole turns, newest first, until the budget
 * (`contextTokens - reservedTokens`) is spent — a kept message is never cut. What does not fit is
 * summarized by rule in a separate note: the first sentence of each dropped customer message,
 * newest first, as many as `summaryTokens` allows, so a topic or order id from long ago still
 * reaches the model.
 */
export function fitHistory(
  history: Turn[],
  config: ContextConfig,
  count: TokenCounter = countMessageTokens,
): HistoryWindow {
  const budget = Math.max(0, config.contextTokens - config.reservedTokens);
  const summaryBudget = Math.min(config.summaryTokens, budget);
  const kept: Turn[] = [];
  let used = 0;
  let i = history.length - 1;
  for (; i >= 0; i--) {
    const turn = history[i] as Turn;
    const cost = count(turn.role, turn.text);
    // Leave room for a summary only if something will be dropped: decided when the budget runs out.
    if (used + cost > budget) break;
    kept.unshift(turn);
    used += cost;
  }
  if (i < 0) return { turns: kept, dropped: 0, tokens: used };

  // Something is dropped: make room for the summary by dropping more of the oldest kept turns.
  while (kept.length && used + summaryBudget > budget)
    used -= count(kept[0]?.role ?? '', kept.shift()?.text ?? '');
  const dropped = history.slice(0, history.length - kept.length);
  const summary = summarize(dropped, summaryBudget, count);
  const summaryCost = summary ? count('system', summary) : 0;
  return { turns: kept, summary, dropped: dropped.length, tokens: used + summaryCost };
}

/** The first sentence of a message, or its first 100 characters: a summary line, not a kept turn. */
function gist(text: string): string {
  const sentence = /^.*?[.!?。！？](?=\s|$)/su.exec(text)?.[0] ?? text;
  const chars = Array.from(sentence);
  return chars.length > 100 ? `${chars.slice(0, 100).join('')}…` : sentence;
}

function summarize(dropped: Turn[], budget: number, count: TokenCounter): string | undefined {
  const zh = dropped.filter((t) => t.locale === 'zh').length > dropped.length / 2;
  const header = zh ? '此前对话中客户问过：' : 'Earlier in this conversation the customer asked:';
  const lines: string[] = [];
  let text: string | undefined;
  for (const turn of [...dropped].reverse()) {
    if (turn.role !== 'user') continue;
    const candidate = `${header}\n${[`- ${gist(turn.text)}`, ...lines].join('\n')}`;
    if (count('system', candidate) > budget) continue; // an older, shorter one may still fit
    lines.unshift(`- ${gist(turn.text)}`);
    text = candidate;
  }
  return text;
}
