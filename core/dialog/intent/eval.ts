import { readFile } from 'node:fs/promises';
import { parse } from 'csv-parse/sync';
import { outOfFoldPredictions, stratifiedFolds } from './calibrate';
import { type ClassifierOptions, IntentClassifier, type LabelledUtterance, resolveModel } from './classifier';
import {
  chooseThreshold,
  type OperatingPoint,
  operatingPoint,
  type ScoredPrediction,
  type ThresholdChoice,
  weighOutOfScope,
} from './threshold';

export { stratifiedFolds };

export interface FoldReport {
  fold: number;
  train: number;
  test: number;
  accuracy: number;
  trainMs: number;
  /** CPU time of training (this process, user + system): less disturbed by other load than wall time. */
  trainCpuMs: number;
}

export interface EvaluationReport {
  examples: number;
  labels: number;
  folds: FoldReport[];
  accuracy: number;
  macroF1: number;
  /** Precision, recall and F1 of each intent (their F1s average to `macroF1`), by name. */
  perIntent: IntentScore[];
  /** The most frequent wrong predictions, most frequent first (`CONFUSIONS_KEPT` at most). */
  confusions: Confusion[];
  /** Microseconds per `classify` call over every held-out utterance of every fold. */
  latencyUs: { p50: number; p99: number; mean: number };
  /** CPU microseconds per classification, averaged over all of them. */
  cpuUsPerClassification: number;
  meanTrainMs: number;
  /** Of the predictions at or above `threshold`: share kept and their accuracy. */
  atThreshold: { threshold: number; coverage: number; accuracy: number };
  /** The threshold `auto` would choose from these out-of-fold confidences, and its curve. */
  calibration: ThresholdReport;
}

/** A chosen threshold and the precision/coverage curve it was chosen on (sampled for people). */
export type ThresholdReport = Omit<ThresholdChoice, 'curve'> & { curve: OperatingPoint[] };

/** Thresholds at which the precision/coverage curve is printed. */
export const CURVE_THRESHOLDS = [0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];

function thresholdReport(predictions: ScoredPrediction[], targetPrecision: number): ThresholdReport {
  const { curve: _full, ...choice } = chooseThreshold(predictions, targetPrecision);
  return { ...choice, curve: CURVE_THRESHOLDS.map((t) => operatingPoint(predictions, t)) };
}

/** Reads a `text,category` CSV (BANKING77's layout); quoted fields are handled by csv-parse. */
export async function loadLabelledCsv(path: string): Promise<LabelledUtterance[]> {
  const rows = parse(await readFile(path, 'utf8'), {
    columns: true,
    skip_empty_lines: true,
    trim: true,
  }) as Record<string, string>[];
  return rows.map((row, i) => {
    const text = row.text ?? row.utterance;
    const label = row.category ?? row.label ?? row.intent;
    if (!text || !label) throw new Error(`${path} row ${i + 2}: expected columns text and category`);
    return { text, label };
  });
}

export interface IntentScore {
  intent: string;
  /** Held-out examples of this intent. */
  support: number;
  /** Of the predictions of this intent, the share that were right (0 when it was never predicted). */
  precision: number;
  /** Of this intent's examples, the share predicted as it. */
  recall: number;
  f1: number;
}

/** One cell of the confusion matrix off its diagonal: `count` examples of `gold` predicted as `predicted`. */
export interface Confusion {
  gold: string;
  predicted: string;
  count: number;
}

/** How many confusion cells a report keeps. */
export const CONFUSIONS_KEPT = 20;

/** Each gold label's precision, recall and F1, sorted by name. */
export function intentScores(gold: string[], predicted: string[]): IntentScore[] {
  return [...new Set(gold)].sort().map((intent) => {
    let tp = 0;
    let fp = 0;
    let fn = 0;
    for (let i = 0; i < gold.length; i++) {
      const isGold = gold[i] === intent;
      const isPredicted = predicted[i] === intent;
      if (isGold && isPredicted) tp++;
      else if (isPredicted) fp++;
      else if (isGold) fn++;
    }
    return {
      intent,
      support: tp + fn,
      precision: tp + fp === 0 ? 0 : tp / (tp + fp),
      recall: tp + fn === 0 ? 0 : tp / (tp + fn),
      f1: tp === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn),
    };
  });
}

export function macroF1(gold: string[], predicted: string[]): number {
  const scores = intentScores(gold, predicted);
  return scores.reduce((sum, s) => sum + s.f1, 0) / scores.length;
}

/** The wrong (gold, predicted) pairs by count, then by name; at most `limit`. */
export function confusionList(gold: string[], predicted: string[], limit = CONFUSIONS_KEPT): Confusion[] {
  const counts = new Map<string, Confusion>();
  for (let i = 0; i < gold.length; i++) {
    const g = gold[i] as string;
    const p = predicted[i] as string;
    if (g === p) continue;
    const key = `${g}\u0000${p}`;
    const cell = counts.get(key) ?? { gold: g, predicted: p, count: 0 };
    cell.count++;
    counts.set(key, cell);
  }
  return [...counts.values()]
    .sort(
      (a, b) => b.count - a.count || a.gold.localeCompare(b.gold) || a.predicted.localeCompare(b.predicted),
    )
    .slice(0, limit);
}

function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] as number;
}

export interface CrossValidationOptions {
  folds?: number;
  seed?: number;
  threshold?: number;
  targetPrecision?: number;
  classifier?: ClassifierOptions;
}

/** k-fold stratified cross-validation of the in-process classifier. */
export function crossValidate(
  examples: LabelledUtterance[],
  options: CrossValidationOptions = {},
): EvaluationReport {
  const steps = crossValidation(examples, options);
  let step = steps.next();
  while (!step.done) step = steps.next();
  return step.value;
}

/**
 * The same, giving the event loop back between folds: for a server that evaluates while it serves
 * (the console's evaluation), so requests wait one fold's training at most, not the whole run.
 */
export async function crossValidateInTurns(
  examples: LabelledUtterance[],
  options: CrossValidationOptions = {},
): Promise<EvaluationReport> {
  const steps = crossValidation(examples, options);
  for (;;) {
    await new Promise((resolve) => setImmediate(resolve));
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/** The cross-validation, one fold per step. */
function* crossValidation(
  examples: LabelledUtterance[],
  options: CrossValidationOptions,
): Generator<number, EvaluationReport> {
  const k = options.folds ?? 5;
  const threshold = options.threshold ?? 0.5;
  const assignment = stratifiedFolds(examples, k, options.seed);
  // Every fold trains the kind of model the whole set would get.
  const classifier = { ...options.classifier, model: resolveModel(examples.length, options.classifier) };
  const gold: string[] = [];
  const predicted: string[] = [];
  const confidences: number[] = [];
  const latencies: number[] = [];
  const folds: FoldReport[] = [];
  let cpuUs = 0;
  for (let fold = 0; fold < k; fold++) {
    const train = examples.filter((_, i) => assignment[i] !== fold);
    const test = examples.filter((_, i) => assignment[i] === fold);
    const started = performance.now();
    const trainCpu = process.cpuUsage();
    const model = IntentClassifier.train(train, classifier);
    const trainCpuUsed = process.cpuUsage(trainCpu);
    const trainMs = performance.now() - started;
    let correct = 0;
    const classifyCpu = process.cpuUsage();
    for (const example of test) {
      const t0 = process.hrtime.bigint();
      const result = model.classify(example.text);
      latencies.push(Number(process.hrtime.bigint() - t0) / 1000);
      gold.push(example.label);
      predicted.push(result.label);
      confidences.push(result.confidence);
      if (result.label === example.label) correct++;
    }
    const classifyCpuUsed = process.cpuUsage(classifyCpu);
    cpuUs += classifyCpuUsed.user + classifyCpuUsed.system;
    folds.push({
      fold,
      train: train.length,
      test: test.length,
      accuracy: correct / test.length,
      trainMs,
      trainCpuMs: (trainCpuUsed.user + trainCpuUsed.system) / 1000,
    });
    yield fold;
  }
  latencies.sort((a, b) => a - b);
  const confident = confidences.map((c, i) => (c >= threshold ? i : -1)).filter((i) => i >= 0);
  return {
    examples: examples.length,
    labels: new Set(gold).size,
    folds,
    accuracy: gold.filter((g, i) => g === predicted[i]).length / gold.length,
    macroF1: macroF1(gold, predicted),
    perIntent: intentScores(gold, predicted),
    confusions: confusionList(gold, predicted),
    latencyUs: {
      p50: percentile(latencies, 0.5),
      p99: percentile(latencies, 0.99),
      mean: latencies.reduce((a, b) => a + b, 0) / latencies.length,
    },
    cpuUsPerClassification: cpuUs / gold.length,
    meanTrainMs: folds.reduce((a, f) => a + f.trainMs, 0) / folds.length,
    atThreshold: {
      threshold,
      coverage: confident.length / gold.length,
      accuracy: confident.length
        ? confident.filter((i) => gold[i] === predicted[i]).length / confident.length
        : 0,
    },
    calibration: thresholdReport(
      confidences.map((confidence, i) => ({ confidence, correct: gold[i] === predicted[i] })),
      options.targetPrecision ?? 0.9,
    ),
  };
}

export function formatReport(report: EvaluationReport): string {
  const pct = (x: number) => `${(x * 100).toFixed(2)}%`;
  const lines = [
    `examples=${report.examples} labels=${report.labels} folds=${report.folds.length}`,
    ...report.folds.map(
      (f) =>
        `  fold ${f.fold}: train=${f.train} test=${f.test} accuracy=${pct(f.accuracy)} train_time=${(f.trainMs / 1000).toFixed(2)}s (cpu ${(f.trainCpuMs / 1000).toFixed(2)}s)`,
    ),
    `accuracy  ${pct(report.accuracy)}`,
    `macro-F1  ${pct(report.macroF1)}`,
    ...(report.confusions.length
      ? [
          'most frequent confusions (gold -> predicted: count):',
          ...report.confusions.slice(0, 10).map((c) => `  ${c.gold} -> ${c.predicted}: ${c.count}`),
        ]
      : []),
    `latency per classification: p50=${report.latencyUs.p50.toFixed(1)}µs p99=${report.latencyUs.p99.toFixed(1)}µs mean=${report.latencyUs.mean.toFixed(1)}µs`,
    `cpu time per classification: mean=${report.cpuUsPerClassification.toFixed(1)}µs`,
    `mean training time per fold: ${(report.meanTrainMs / 1000).toFixed(2)}s`,
    `confidence >= ${report.atThreshold.threshold}: coverage ${pct(report.atThreshold.coverage)}, accuracy ${pct(report.atThreshold.accuracy)}`,
    ...formatThreshold(report.calibration, 'out-of-fold'),
  ];
  return lines.join('\n');
}

const pct = (x: number | undefined) => (x === undefined ? '-' : `${(x * 100).toFixed(2)}%`);

/** The precision/coverage curve and the chosen point, as lines of text. */
export function formatThreshold(report: ThresholdReport, on: string): string[] {
  const oos = report.outOfScope > 0;
  const row = (p: OperatingPoint) =>
    `  ${p.threshold.toFixed(3).padStart(6)}  ${pct(p.precision).padStart(8)}  ${pct(p.coverage).padStart(8)}  ${pct(p.inScopeAccuracy).padStart(8)}${oos ? `  ${pct(p.outOfScopeRecall).padStart(8)}` : ''}`;
  return [
    `precision/coverage curve (${on} confidences; ${report.inScope} in scope${oos ? `, ${report.outOfScope} out of scope` : ''}):`,
    `  thresh  precision  coverage  in-scope-acc${oos ? '  oos-recall' : ''}`,
    ...report.curve.map(row),
    report.met
      ? `chosen for target precision ${pct(report.targetPrecision)}:`
      : `no threshold reaches target precision ${pct(report.targetPrecision)}; chosen: reject all`,
    row(report),
  ];
}

export interface HeldOutReport {
  train: { inScope: number; outOfScope: number; labels: number };
  validation: { inScope: number; outOfScope: number };
  calibrationFolds: number;
  /** Threshold chosen from out-of-fold confidences on the training split. */
  calibration: ThresholdReport;
  /** Cross-validation for calibration plus the final training, wall time. */
  calibrationMs: number;
  trainMs: number;
  /** Held-out in-scope queries predicted right, whatever their confidence. */
  accuracyWithoutThreshold: number;
  /** On the validation split at the chosen threshold: in-scope accuracy (right AND accepted), out-of-scope recall, ... */
  atChosen: OperatingPoint & { outOfScopePrecision?: number };
  /** The same at a fixed threshold, for comparison. */
  atFixed: OperatingPoint & { outOfScopePrecision?: number };
  /** The validation split's curve. */
  validationCurve: OperatingPoint[];
  latencyUs: { p50: number; p99: number; mean: number };
}

/**
 * CLINC150-style evaluation: calibrate on the training split (its out-of-scope rows, labelled
 * `outOfScopeLabel`, are used for the threshold only, never trained on), train on its in-scope
 * rows, and measure on the validation split: an in-scope query counts right only when predicted
 * right AND accepted; an out-of-scope query is caught when rejected.
 */
export function evaluateHeldOut(
  train: readonly LabelledUtterance[],
  validation: readonly LabelledUtterance[],
  options: {
    outOfScopeLabel?: string;
    targetPrecision?: number;
    /** Share of traffic the out-of-scope rows stand for in the precision (default 0.2). */
    outOfScopeShare?: number;
    folds?: number;
    seed?: number;
    fixedThreshold?: number;
    classifier?: ClassifierOptions;
  } = {},
): HeldOutReport {
  const oosLabel = options.outOfScopeLabel;
  const isOos = (e: LabelledUtterance) => oosLabel !== undefined && e.label === oosLabel;
  const inScopeTrain = train.filter((e) => !isOos(e));
  const oosTrain = train.filter(isOos).map((e) => e.text);
  const folds = options.folds ?? 3;
  const started = performance.now();
  const outOfFold = outOfFoldPredictions(inScopeTrain, oosTrain, {
    folds,
    seed: options.seed,
    classifier: options.classifier,
  });
  if (!outOfFold) throw new Error('too few training examples to cross-validate: a fold has a single intent');
  const calibration = thresholdReport(
    weighOutOfScope(outOfFold, options.outOfScopeShare ?? 0.2),
    options.targetPrecision ?? 0.9,
  );
  const trainStarted = performance.now();
  const model = IntentClassifier.train(inScopeTrain, options.classifier);
  const trainMs = performance.now() - trainStarted;
  const calibrationMs = performance.now() - started;

  const latencies: number[] = [];
  const predictions = validation.map((example): ScoredPrediction => {
    const t0 = process.hrtime.bigint();
    const { label, confidence } = model.classify(example.text);
    latencies.push(Number(process.hrtime.bigint() - t0) / 1000);
    return isOos(example)
      ? { confidence, correct: false, outOfScope: true }
      : { confidence, correct: label === example.label };
  });
  latencies.sort((a, b) => a - b);
  const withOosPrecision = (threshold: number) => {
    const point = operatingPoint(predictions, threshold);
    const rejected = predictions.filter((p) => p.confidence < threshold);
    const caught = rejected.filter((p) => p.outOfScope).length;
    return rejected.length && point.outOfScopeRecall !== undefined
      ? { ...point, outOfScopePrecision: caught / rejected.length }
      : point;
  };
  const inScope = predictions.filter((p) => !p.outOfScope);
  return {
    train: {
      inScope: inScopeTrain.length,
      outOfScope: oosTrain.length,
      labels: new Set(inScopeTrain.map((e) => e.label)).size,
    },
    validation: { inScope: inScope.length, outOfScope: predictions.length - inScope.length },
    calibrationFolds: folds,
    calibration,
    calibrationMs,
    trainMs,
    accuracyWithoutThreshold: inScope.filter((p) => p.correct).length / (inScope.length || 1),
    atChosen: withOosPrecision(calibration.threshold),
    atFixed: withOosPrecision(options.fixedThreshold ?? 0.7),
    validationCurve: CURVE_THRESHOLDS.map((t) => operatingPoint(predictions, t)),
    latencyUs: {
      p50: percentile(latencies, 0.5),
      p99: percentile(latencies, 0.99),
      mean: latencies.reduce((a, b) => a + b, 0) / (latencies.length || 1),
    },
  };
}

export function formatHeldOutReport(report: HeldOutReport): string {
  const at = (name: string, p: HeldOutReport['atChosen']) =>
    `${name} threshold ${p.threshold.toFixed(3)}: in-scope accuracy ${pct(p.inScopeAccuracy)} (accepted ${pct(p.coverage)}, precision ${pct(p.precision)}), out-of-scope recall ${pct(p.outOfScopeRecall)}, out-of-scope precision ${pct(p.outOfScopePrecision)}`;
  return [
    `train: ${report.train.inScope} in scope over ${report.train.labels} intents, ${report.train.outOfScope} out of scope (threshold only); validation: ${report.validation.inScope} in scope, ${report.validation.outOfScope} out of scope`,
    `calibration: ${report.calibrationFolds}-fold cross-validation + final training ${(report.calibrationMs / 1000).toFixed(2)}s (final training ${(report.trainMs / 1000).toFixed(2)}s)`,
    ...formatThreshold(report.calibration, 'training split, out-of-fold'),
    ...formatThreshold(
      {
        ...report.calibration,
        ...report.validation,
        curve: report.validationCurve,
        ...report.atChosen,
      },
      'validation split',
    ),
    `validation in-scope accuracy without a threshold: ${pct(report.accuracyWithoutThreshold)}`,
    at('chosen', report.atChosen),
    at('fixed', report.atFixed),
    `latency per classification: p50=${report.latencyUs.p50.toFixed(1)}µs p99=${report.latencyUs.p99.toFixed(1)}µs mean=${report.latencyUs.mean.toFixed(1)}µs`,
  ].join('\n');
}
