import { z } from 'zod';
import type { DraftOptions } from '../../core/outbound/draft';

/** Booleans may come from `${ENV}` interpolation as strings ("true", "0", "yes"). */
const flag = z.union([z.boolean(), z.stringbool()]);

/**
 * Channel keys for streamed answers: with `streaming` on, a long LLM answer appears as one message
 * edited as it is generated (at most one edit per `draftIntervalMs`, each showing at least
 * `draftMinChars` more), then edited into the final reply.
 */
export const streamingOptionFields = {
  streaming: flag.default(true),
  draftIntervalMs: z.coerce.number().int().min(250).max(60_000).default(1000),
  draftMinChars: z.coerce.number().int().min(1).default(20),
};

export function draftOptions(
  options: { draftIntervalMs: number; draftMinChars: number },
  maxChars: number,
): DraftOptions {
  return { intervalMs: options.draftIntervalMs, minChars: options.draftMinChars, maxChars };
}
