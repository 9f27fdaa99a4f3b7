import { z } from 'zod';

const regexSource = z.string().superRefine((source, ctx) => {
  try {
    new RegExp(source, 'u');
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: `not a valid regular expression: ${(error as Error).message}` });
  }
});

/** One intent: how the rules spot it, what the classifier learns it from, how the LLM is told about it. */
export const intentDefinitionSchema = z.object({
  name: z
    .string()
    .regex(/^[a-z][a-z0-9_.]*$/, 'use lower-case letters, digits, "_" and ".", e.g. "order_status"')
    .refine((name) => name !== 'unknown', '"unknown" is reserved for messages no intent fits'),
  /** One line for the LLM tier: what customers mean by it. */
  description: z.string().default(''),
  /** Tier (a): a keyword found in the folded message (English ones as whole words). */
  keywords: z
    .object({ zh: z.array(z.string().min(1)).default([]), en: z.array(z.string().min(1)).default([]) })
    .prefault({}),
  /** Tier (a): regular expressions tried on the folded message (lower case, ASCII punctuation). */
  patterns: z.array(regexSource).default([]),
  /** Tier (b): example utterances, any language, that the classifier is trained on at start-up. */
  examples: z.array(z.string().min(1)).default([]),
});
export type IntentDefinition = z.infer<typeof intentDefinitionSchema>;

export const intentConfigSchema = z
  .object({
    /** A tier's answer is taken when its confidence reaches its threshold; else the next tier is asked. */
    thresholds: z
      .object({
        rules: z.number().min(0).max(1).default(0.85),
        classifier: z.number().min(0).max(1).default(0.6),
        llm: z.number().min(0).max(1).default(0.7),
      })
      .prefault({}),
    /** Confidence a keyword hit gives; a pattern hit gives `patternConfidence`. Two intents hit: halved. */
    keywordConfidence: z.number().min(0).max(1).default(0.9),
    patternConfidence: z.number().min(0).max(1).default(0.95),
    intents: z.array(intentDefinitionSchema).default([]),
  })
  .superRefine((config, ctx) => {
    const seen = new Set<string>();
    config.intents.forEach((intent, i) => {
      if (seen.has(intent.name)) {
        ctx.addIssue({
          code: 'custom',
          path: ['intents', i, 'name'],
          message: `intent "${intent.name}" is defined twice`,
        });
      }
      seen.add(intent.name);
    });
  });
export type IntentConfig = z.infer<typeof intentConfigSchema>;
