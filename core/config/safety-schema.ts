import { z } from 'zod';

const flag = z.union([z.boolean(), z.stringbool()]);

/** What a lexicon hit does: answer with the fixed refusal, hand the conversation to a person, or only count it. */
export const safetyActionSchema = z.enum(['refuse', 'handoff', 'flag']);

/**
 * Content safety (core/safety, README "Content safety"): lexicons of sensitive words per tenant,
 * the prompt-injection screen, the checks of generated answers and the risk disclaimers.
 */
export const safetySectionSchema = z
  .object({
    enabled: flag.default(true),
    /**
     * Lexicon files (core/safety/lexicon.ts): each has an optional `tenant` (absent: every tenant),
     * categories of words with their action, and disclaimers. Paths are relative to the working directory.
     */
    lexicons: z
      .array(z.string().min(1))
      .default(['config/safety/common.yaml', 'config/safety/finance-demo.yaml']),
    /** The prompt-injection screen on what the customer writes. */
    injection: z
      .object({
        enabled: flag.default(true),
        action: safetyActionSchema.default('refuse'),
        /** Also ask the LLM (when one is configured) about messages the rules let through. */
        llm: flag.default(false),
      })
      .prefault({}),
    /** Checks of generated text before it is sent (and of streamed drafts). */
    output: z
      .object({
        enabled: flag.default(true),
        /**
         * Are the answer's claims in the passages it was written from? `rules` (default): numbers
         * and word overlap, no extra model call; `llm`: the model judges (one more call per answer,
         * the rules when it fails); `auto`: `llm` when an LLM is enabled, else `rules`; `off`.
         */
        groundedness: z.enum(['auto', 'rules', 'llm', 'off']).default('rules'),
        /** Share of a sentence's words (Han: character pairs) that must appear in the passages. */
        minSentenceOverlap: z.coerce.number().min(0).max(1).default(0.4),
        /** An answer fails when more than this share of its sentences is below the overlap. */
        maxUnsupportedShare: z.coerce.number().min(0).max(1).default(0.34),
      })
      .prefault({}),
  })
  .prefault({});

export type SafetyConfig = z.infer<typeof safetySectionSchema>;
export type SafetyAction = z.infer<typeof safetyActionSchema>;
