import { readFile } from 'node:fs/promises';
import { parse } from 'csv-parse/sync';
import {
  type ClassifierOptions,
  IntentClassifier,
  type LabelledUtterance,
  shuffleInPlace,
} from './classifier';

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
  /** Microseconds per `classify` call over every held-out utterance of every fold. */
  latencyUs: { p50: number; p99: number; mean: number };
  /** CPU microseconds per classification, averaged over all of them. */
  cpuUsPerClassification: number;
  meanTrainMs: number;
  /** Of the predictions at or above `threshold`: share kept and their accuracy. */
  atThreshold: { threshold: number; coverage: number; accuracy: number };
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

/** Each label's examples are dealt round-robin over the folds, after a seeded shuffle. */
export function stratifiedFolds(examples: LabelledUtterance[], k: number, seed = 7): number[] {
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

export function macroF1(gold: string[], predicted: string[]): number {
  const labels = new Set(gold);
  let sum = 0;
  for (const label of labels) {
    let tp = 0;
    let fp = 0;
    let fn = 0;
    for (let i = 0; i < gold.length; i++) {
      const isGold = gold[i] === label;
      const isPredicted = predicted[i] === label;
      if (isGold && isPredicted) tp++;
      else if (isPredicted) fp++;
      else if (isGold) fn++;
    }
    sum += tp === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn);
  }
  return sum / labels.size;
}

function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] as number;
}

/** k-fold stratified cross-validation of the in-process classifier. */
export function crossValidate(
  examples: LabelledUtterance[],
  options: { folds?: number; seed?: number; threshold?: number; classifier?: ClassifierOptions } = {},
): EvaluationReport {
  const k = options.folds ?? 5;
  const threshold = options.threshold ?? 0.5;
  const assignment = stratifiedFolds(examples, k, options.seed);
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
    const model = IntentClassifier.train(train, options.classifier);
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
  }
  latencies.sort((a, b) => a - b);
  const confident = confidences.map((c, i) => (c >= threshold ? i : -1)).filter((i) => i >= 0);
  return {
    examples: examples.length,
    labels: new Set(gold).size,
    folds,
    accuracy: gold.filter((g, i) => g === predicted[i]).length / gold.length,
    macroF1: macroF1(gold, predicted),
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
    `latency per classification: p50=${report.latencyUs.p50.toFixed(1)}µs p99=${report.latencyUs.p99.toFixed(1)}µs mean=${report.latencyUs.mean.toFixed(1)}µs`,
    `cpu time per classification: mean=${report.cpuUsPerClassification.toFixed(1)}µs`,
    `mean training time per fold: ${(report.meanTrainMs / 1000).toFixed(2)}s`,
    `confidence >= ${report.atThreshold.threshold}: coverage ${pct(report.atThreshold.coverage)}, accuracy ${pct(report.atThreshold.accuracy)}`,
  ];
  return lines.join('\n');
}
