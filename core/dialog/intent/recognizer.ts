import { z } from 'zod';
import type { DerivedCache } from '../../cache/derived';
import { logger } from '../../log';
import type { LlmClient } from '../../types';
import { type Calibration, calibrateThreshold } from './calibrate';
import { type ClassifierOptions, IntentClassifier } from './classifier';
import type { IntentConfig } from './config';
import { classifyWithLlm, UNKNOWN_INTENT } from './llm';
import { IntentRules } from './rules';

/** Bump when calibration gives another threshold for the same examples and settings. */
const THRESHOLD_KIND = 'intent-threshold-v1';

const cachedThreshold: z.ZodType<Calibration> = z.union([
  z.object({
    mode: z.literal('auto'),
    folds: z.number(),
    ms: z.number(),
    threshold: z.number(),
    precision: z.number(),
    coverage: z.number(),
    inScopeAccuracy: z.number(),
    outOfScopeRecall: z.number().optional(),
    targetPrecision: z.number(),
    met: z.boolean(),
    inScope: z.number(),
    outOfScope: z.number(),
  }),
  z.object({ mode: z.literal('fallback'), threshold: z.number(), reason: z.string(), ms: z.number() }),
]);

export type IntentTier = 'rules' | 'classifier' | 'llm' | 'none';

export interface IntentCandidate {
  name: string;
  confidence: number;
  tier: Exclude<IntentTier, 'none'>;
}

export interface IntentResult {
  /** An intent from config, or `unknown` when no tier was confident enough. */
  name: string;
  confidence: number;
  tier: IntentTier;
  /** What every tier that ran proposed, in the order they ran (for logs, metrics and "did you mean"). */
  candidates: IntentCandidate[];
}

export interface RecognizerInput {
  /** The cleaned message (preprocess().text): the LLM sees what the customer wrote. */
  text: string;
  /** preprocess().folded: what rules and classifier read. */
  folded: string;
}

/** How the classifier's threshold was set: fixed in config, or chosen at start-up (see calibrate.ts). */
export type ClassifierThreshold = { mode: 'fixed'; threshold: number } | Calibration;

/**
 * Intent recognition in tiers, cheapest first: rules and keywords, then the in-process classifier,
 * then (when configured and its circuit is closed) the LLM. The first tier that reaches its
 * threshold decides; if none does, the intent is `unknown` — never a forced guess.
 */
export class IntentRecognizer {
  private constructor(
    private readonly config: IntentConfig,
    private readonly rules: IntentRules,
    private readonly classifier: IntentClassifier | undefined,
    private readonly llm: LlmClient | undefined,
    /** The classifier tier's threshold and how it was set; undefined without a classifier. */
    readonly classifierThreshold: ClassifierThreshold | undefined,
  ) {}

  /**
   * Trains the classifier from the config's examples (needs examples of two intents or more) and,
   * with `thresholds.classifier: auto`, chooses its threshold by cross-validation on the same
   * examples (`calibration.folds` more trainings), logged as `intent.threshold`.
   */
  static create(
    config: IntentConfig,
    deps: { llm?: LlmClient; classifier?: ClassifierOptions; cache?: DerivedCache } = {},
  ): IntentRecognizer {
    const examples = config.intents.flatMap((intent) =>
      intent.examples.map((text) => ({ text, label: intent.name })),
    );
    const labels = new Set(examples.map((e) => e.label));
    const options: ClassifierOptions = { model: config.model, ...deps.classifier };
    const classifier = labels.size >= 2 ? IntentClassifier.train(examples, options) : undefined;
    let threshold: ClassifierThreshold | undefined;
    if (classifier) {
      const configured = config.thresholds.classifier;
      let cached = false;
      if (configured === 'auto') {
        const settings = { ...config.calibration, classifier: options };
        const calibrate = () => calibrateThreshold(examples, config.calibration.outOfScope, settings);
        if (deps.cache) {
          const { value, hit } = deps.cache.through(
            THRESHOLD_KIND,
            { examples, settings },
            cachedThreshold,
            calibrate,
          );
          threshold = value;
          cached = hit;
        } else threshold = calibrate();
      } else threshold = { mode: 'fixed', threshold: configured };
      logger.info(
        { event: 'intent.threshold', model: classifier.model, ...threshold, ...(cached ? { cached } : {}) },
        `${describeThreshold(threshold)}${cached ? ' (from the cache)' : ''}`,
      );
    }
    return new IntentRecognizer(config, new IntentRules(config), classifier, deps.llm, threshold);
  }

  async recognize(
    input: RecognizerInput,
    options: {
      signal?: AbortSignal;
      useLlm?: boolean;
      conversation?: string;
      /** Called just before the LLM tier asks the model (a caller may start work that does not depend on it). */
      onLlmTier?: () => void;
    } = {},
  ): Promise<IntentResult> {
    const { thresholds } = this.config;
    const candidates: IntentCandidate[] = [];
    const decided = (candidate: IntentCandidate): IntentResult => ({ ...candidate, candidates });

    const [rule] = this.rules.match(input.folded);
    if (rule) {
      const candidate: IntentCandidate = { name: rule.name, confidence: rule.confidence, tier: 'rules' };
      candidates.push(candidate);
      if (rule.confidence >= thresholds.rules) return decided(candidate);
    }

    if (this.classifier) {
      const result = this.classifier.classify(input.folded);
      const candidate: IntentCandidate = {
        name: result.label,
        confidence: result.confidence,
        tier: 'classifier',
      };
      candidates.push(candidate);
      if (result.confidence >= (this.classifierThreshold?.threshold ?? 1)) return decided(candidate);
    }

    const llm = this.llm;
    if (llm && options.useLlm !== false && llm.available()) {
      options.onLlmTier?.();
      try {
        const answer = await classifyWithLlm(
          llm,
          this.config.intents,
          input.text,
          options.signal,
          options.conversation,
        );
        if (answer && answer.name !== UNKNOWN_INTENT) {
          const candidate: IntentCandidate = { ...answer, tier: 'llm' };
          candidates.push(candidate);
          if (answer.confidence >= thresholds.llm) return decided(candidate);
        }
      } catch {
        // The LLM tier is an optional refinement: its failure leaves the intent unknown, not the turn failed.
      }
    }

    const best = candidates.reduce((a, b) => Math.max(a, b.confidence), 0);
    return { name: UNKNOWN_INTENT, confidence: best, tier: 'none', candidates };
  }

  /** Which classifier was trained: `ensemble` or `linear`; undefined without one. */
  get classifierModel(): 'ensemble' | 'linear' | undefined {
    return this.classifier?.model;
  }

  /** Intent names this recognizer can return (besides `unknown`). */
  get intentNames(): string[] {
    return this.config.intents.map((i) => i.name);
  }
}

/** One line for the log and `hub intents`: the threshold, and what it is expected to give. */
export function describeThreshold(threshold: ClassifierThreshold): string {
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  switch (threshold.mode) {
    case 'fixed':
      return `intent classifier threshold ${threshold.threshold} (fixed in config)`;
    case 'fallback':
      return `intent classifier threshold ${threshold.threshold} (fallback: ${threshold.reason})`;
    default:
      return threshold.met
        ? `intent classifier threshold ${threshold.threshold.toFixed(3)} chosen by ${threshold.folds}-fold cross-validation: expected precision ${pct(threshold.precision)} (target ${pct(threshold.targetPrecision)}), coverage ${pct(threshold.coverage)} of ${threshold.inScope} examples${threshold.outOfScopeRecall === undefined ? '' : `, out-of-scope rejected ${pct(threshold.outOfScopeRecall)} of ${threshold.outOfScope}`} (${Math.round(threshold.ms)} ms)`
        : `intent classifier threshold 1: no threshold reaches the target precision ${pct(threshold.targetPrecision)} out of fold, so the classifier decides nothing alone (${Math.round(threshold.ms)} ms)`;
  }
}
