import type { LabelledUtterance } from '../dialog/intent/classifier';
import type { IntentConfig } from '../dialog/intent/config';
import {
  type CrossValidationOptions,
  crossValidate,
  crossValidateInTurns,
  type EvaluationReport,
} from '../dialog/intent/eval';
import { writeLearnedExamples } from '../dialog/intent/learned';
import { HubError } from '../types/errors';
import type { EvaluationFigures, IntentReviewStore } from './store';

/** Folds of a cross-validation on the configured examples: five, fewer when an intent has fewer examples. */
export const MAX_FOLDS = 5;

/** The configured intents' examples (the learned ones included, see `loadIntentConfig`) as labelled rows. */
export function configExamples(intents: IntentConfig): LabelledUtterance[] {
  return intents.intents.flatMap((intent) => intent.examples.map((text) => ({ text, label: intent.name })));
}

interface EvaluateOptions {
  seed?: number;
  folds?: number;
  model?: IntentConfig['model'];
}

/** As many folds as the smallest intent allows (two to five), or refused with how to fix it. */
function foldsFor(examples: readonly LabelledUtterance[], wanted: number | undefined): number {
  const counts = new Map<string, number>();
  for (const e of examples) counts.set(e.label, (counts.get(e.label) ?? 0) + 1);
  const smallest = counts.size ? Math.min(...counts.values()) : 0;
  const folds = wanted ?? Math.min(MAX_FOLDS, smallest);
  if (counts.size < 2 || folds < 2 || smallest < folds) {
    throw new HubError(
      'intents.too_few_examples',
      `Cross-validation needs two intents or more with ${Math.max(2, folds)} examples each or more (${counts.size} intents, the smallest has ${smallest}). Fix: add examples to the intents of the dialog file.`,
      { status: 409 },
    );
  }
  return folds;
}

function crossValidationOptions(options: EvaluateOptions, folds: number): CrossValidationOptions {
  return {
    folds,
    seed: options.seed ?? 7,
    ...(options.model ? { classifier: { model: options.model } } : {}),
  };
}

function figuresOf(report: EvaluationReport, folds: number, started: number): EvaluationFigures {
  return {
    examples: report.examples,
    labels: report.labels,
    folds,
    accuracy: report.accuracy,
    macroF1: report.macroF1,
    perIntent: report.perIntent,
    confusions: report.confusions,
    durationMs: performance.now() - started,
  };
}

/**
 * `hub intents eval`'s cross-validation (core/dialog/intent/eval.ts) on a set of examples, with as
 * many folds as the smallest intent allows (two to five), reduced to the figures kept per run.
 */
export function evaluateExamples(
  examples: LabelledUtterance[],
  options: EvaluateOptions = {},
): EvaluationFigures {
  const folds = foldsFor(examples, options.folds);
  const started = performance.now();
  return figuresOf(crossValidate(examples, crossValidationOptions(options, folds)), folds, started);
}

/** The same for a server: the event loop is given back between folds (`crossValidateInTurns`). */
export async function evaluateExamplesInTurns(
  examples: LabelledUtterance[],
  options: EvaluateOptions = {},
): Promise<EvaluationFigures> {
  const folds = foldsFor(examples, options.folds);
  const started = performance.now();
  const report = await crossValidateInTurns(examples, crossValidationOptions(options, folds));
  return figuresOf(report, folds, started);
}

/** Runs and records one evaluation; a failure is recorded as such and thrown again. */
export async function recordEvaluation(
  store: IntentReviewStore,
  run: { dataset: string; source: 'cli' | 'console'; requestedBy?: string },
  evaluate: () => EvaluationFigures | Promise<EvaluationFigures>,
): Promise<{ id: string; figures: EvaluationFigures }> {
  const id = await store.startEvaluation(run);
  try {
    const figures = await evaluate();
    await store.finishEvaluation(id, figures);
    return { id, figures };
  } catch (error) {
    await store.failEvaluation(id, error instanceof Error ? error.message : String(error));
    throw error;
  }
}

let exporting: Promise<unknown> = Promise.resolve();

/**
 * Writes the learned-examples file from every approved label in the database. Exports of this
 * process run one after another, so a slower one can never put back a file without a newer
 * approval. Answers the examples written.
 */
export function exportLearnedExamples(store: IntentReviewStore, file: string): Promise<number> {
  const run = exporting.then(async () => {
    const examples = await store.approvedExamples();
    await writeLearnedExamples(file, examples);
    return Object.values(examples).reduce((n, list) => n + list.length, 0);
  });
  exporting = run.catch(() => undefined);
  return run;
}
