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
        /**
         * `auto` (default): chosen at start-up from cross-validated confidences on the examples, the
         * lowest threshold whose accepted predictions reach `calibration.targetPrecision`. A number: fixed.
         */
        classifier: z.union([z.literal('auto'), z.number().min(0).max(1)]).default('auto'),
        llm: z.number().min(0).max(1).default(0.7),
      })
      .prefault({}),
    /**
     * The classifier: `linear` (the regression alone), `ensemble` (with the embedding model: about 1
     * point more accurate, about 2.5 times the training and start-up time), `auto`: the ensemble from
     * 1,000 examples on.
     */
    model: z.enum(['auto', 'ensemble', 'linear']).default('auto'),
    /** How the `auto` classifier threshold is chosen (ignored when the threshold is a number). */
    calibration: z
      .object({
        /** Share of the classifier's accepted predictions that should be right (out of fold). */
        targetPrecision: z.number().gt(0).max(1).default(0.9),
        /** Folds of the cross-validation run at start-up: each trains one more model. */
        folds: z.number().int().min(2).max(10).default(3),
        /**
         * Messages no intent covers ("what's the weather", "tell me a joke"): never trained on; out of
         * fold, accepting one counts against the precision, so the threshold is chosen to reject them.
         */
        outOfScope: z.array(z.string().min(1)).default([]),
        /**
         * Share of the customers' messages expected to be out of scope: the `outOfScope` examples are
         * weighed to make up this share when the precision is measured (a few examples stand for many).
         */
        outOfScopeShare: z.number().min(0).lt(1).default(0.2),
        /** The threshold when the examples are too few to cross-validate (under two per fold). */
        fallback: z.number().min(0).max(1).default(0.7),
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
