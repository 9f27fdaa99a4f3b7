import {
  type ClassifierOptions,
  IntentClassifier,
  type LabelledUtterance,
  resolveModel,
  shuffleInPlace,
} from './classifier';
import { chooseThreshold, type ScoredPrediction, type ThresholdChoice, weighOutOfScope } from './threshold';

/**
 * The classifier's "unknown" threshold chosen per deployment: k-fold cross-validation over the
 * deployment's own examples gives every example a confidence from a model that never saw it; the
 * threshold is the lowest one whose accepted out-of-fold predictions reach the target precision.
 */

/** Each label's examples are dealt round-robin over the folds, after a seeded shuffle. */
export function stratifiedFolds(examples: readonly LabelledUtterance[], k: number, seed = 7): number[] {
  const byLabel = new Map<string, number[]>();
  examples.forEach((e, i) => {
    const indices = byLabel.get(e.label) ?? [];
    indices.push(i);
    byLabel.set(e.label, indices);
  });
  const fold = new Array<number>(examples.length).fill(0);
  let state = seed;
  const next = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296;
  };
  let offset = 0;
  for (const label of [...byLabel.keys()].sort()) {
    const indices = shuffleInPlace([...(byLabel.get(label) ?? [])], next);
    indices.forEach((index, position) => {
      fold[index] = (position + offset) % k;
    });
    offset += indices.length; // spreads each label's remainder over different folds
  }
  return fold;
}

export interface OutOfFoldOptions {
  folds: number;
  seed?: number;
  classifier?: ClassifierOptions;
}

export interface OutOfFoldPrediction extends ScoredPrediction {
  /** The example's label; undefined for an out-of-scope message. */
  gold?: string;
  predicted: string;
}

/**
 * Out-of-fold predictions: every in-scope example classified by the model of the folds it is not
 * in; every out-of-scope message (never trained on) by the model of its own fold. Returns
 * undefined when some fold would train on fewer than two intents.
 */
export function outOfFoldPredictions(
  examples: readonly LabelledUtterance[],
  outOfScope: readonly string[],
  options: OutOfFoldOptions,
): OutOfFoldPrediction[] | undefined {
  const k = options.folds;
  const inScopeFolds = stratifiedFolds(examples, k, options.seed);
  const predictions: OutOfFoldPrediction[] = [];
  // The fold models are of the kind the whole set gets, though each sees fewer examples.
  const classifier = { ...options.classifier, model: resolveModel(examples.length, options.classifier) };
  for (let fold = 0; fold < k; fold++) {
    const train = examples.filter((_, i) => inScopeFolds[i] !== fold);
    if (new Set(train.map((e) => e.label)).size < 2) return undefined;
    const model = IntentClassifier.train(train, classifier);
    examples.forEach((example, i) => {
      if (inScopeFolds[i] !== fold) return;
      const { label, confidence } = model.classify(example.text);
      predictions.push({
        confidence,
        correct: label === example.label,
        gold: example.label,
        predicted: label,
      });
    });
    outOfScope.forEach((text, i) => {
      if (i % k !== fold) return;
      const { label, confidence } = model.classify(text);
      predictions.push({ confidence, correct: false, outOfScope: true, predicted: label });
    });
  }
  return predictions;
}

export interface CalibrationSettings {
  targetPrecision: number;
  folds: number;
  fallback: number;
  /** Share of traffic the out-of-scope examples stand for (see `weighOutOfScope`). */
  outOfScopeShare: number;
  seed?: number;
  classifier?: ClassifierOptions;
}

export type Calibration =
  | ({ mode: 'auto'; folds: number; ms: number } & Omit<ThresholdChoice, 'curve'>)
  | { mode: 'fallback'; threshold: number; reason: string; ms: number };

/**
 * Chooses the threshold for a classifier trained on `examples`. Too few examples to give every
 * fold two per intent on average, or a fold with a single intent: the fallback threshold.
 */
export function calibrateThreshold(
  examples: readonly LabelledUtterance[],
  outOfScope: readonly string[],
  settings: CalibrationSettings,
): Calibration {
  const started = performance.now();
  const labels = new Set(examples.map((e) => e.label)).size;
  const fallback = (reason: string): Calibration => ({
    mode: 'fallback',
    threshold: settings.fallback,
    reason,
    ms: performance.now() - started,
  });
  if (examples.length < 2 * settings.folds * labels) {
    return fallback(
      `${examples.length} examples of ${labels} intents are too few for ${settings.folds}-fold calibration (need ${2 * settings.folds} per intent on average)`,
    );
  }
  const predictions = outOfFoldPredictions(examples, outOfScope, settings);
  if (!predictions) return fallback('a calibration fold had examples of a single intent');
  const { curve: _curve, ...choice } = chooseThreshold(
    weighOutOfScope(predictions, settings.outOfScopeShare),
    settings.targetPrecision,
  );
  return { mode: 'auto', folds: settings.folds, ms: performance.now() - started, ...choice };
}
