import type { Passage } from '../types';

/**
 * What the answer/refuse decision looks at, from the ranked passages of one question:
 * - `score`: the best passage's score;
 * - `margin`: best minus second best (how clearly one entry wins);
 * - `ratio`: that margin relative to the best score.
 * `hub kb eval` prints the AUROC of each on the labelled set; the hub uses `knowledge.calibration.measure`.
 */
export type ConfidenceMeasure = 'score' | 'margin' | 'ratio';
export const CONFIDENCE_MEASURES: ConfidenceMeasure[] = ['score', 'margin', 'ratio'];

export function confidenceOf(passages: Pick<Passage, 'score'>[], measure: ConfidenceMeasure): number {
  const first = passages[0]?.score ?? 0;
  const second = passages[1]?.score ?? 0;
  if (measure === 'score') return first;
  if (measure === 'margin') return first - second;
  return first > 0 ? (first - second) / first : 0;
}

/** One question's outcome: its confidence, and whether answering it would have been right. */
export interface CalibrationSample {
  confidence: number;
  /** The best passage answers it (false also for every unanswerable question). */
  correct: boolean;
}

/**
 * Area under the ROC curve of `confidence` as a test for `correct`: the chance that a right answer
 * scores above a wrong one (ties count half). 0.5 is no better than a coin, 1 separates perfectly.
 */
export function auroc(samples: CalibrationSample[]): number {
  const right = samples.filter((s) => s.correct).map((s) => s.confidence);
  const wrong = samples.filter((s) => !s.correct).map((s) => s.confidence);
  if (right.length === 0 || wrong.length === 0) return Number.NaN;
  // Rank-sum (Mann-Whitney U) with average ranks for ties.
  const all = [...right.map((c) => ({ c, right: true })), ...wrong.map((c) => ({ c, right: false }))].sort(
    (a, b) => a.c - b.c,
  );
  let rankSum = 0;
  for (let i = 0; i < all.length; ) {
    let j = i;
    while (j < all.length && all[j]?.c === all[i]?.c) j++;
    const rank = (i + 1 + j) / 2;
    for (let m = i; m < j; m++) if (all[m]?.right) rankSum += rank;
    i = j;
  }
  return (rankSum - (right.length * (right.length + 1)) / 2) / (right.length * wrong.length);
}

export interface ThresholdOutcome {
  threshold: number;
  /** Share of all questions answered. */
  answered: number;
  /** Share of answered questions answered right. */
  precision: number;
  /** Share of questions with a right answer available (correct) that are answered. */
  coverage: number;
}

/** What answering at `confidence >= threshold` does to `samples`. */
export function outcomeAt(samples: CalibrationSample[], threshold: number): ThresholdOutcome {
  const answered = samples.filter((s) => s.confidence >= threshold);
  const right = answered.filter((s) => s.correct).length;
  const correct = samples.filter((s) => s.correct).length;
  return {
    threshold,
    answered: samples.length ? answered.length / samples.length : 0,
    precision: answered.length ? right / answered.length : 1,
    coverage: correct ? right / correct : 0,
  };
}

/**
 * The threshold that answers the most questions while the answered ones are right at least
 * `precision` of the time: the lowest observed confidence at which that holds for everything above
 * it. When no threshold reaches it, the one with the best precision (fewest wrong answers) that
 * still answers something.
 */
export function chooseThreshold(samples: CalibrationSample[], precision = 0.9): ThresholdOutcome {
  const candidates = [...new Set(samples.map((s) => s.confidence))].sort((a, b) => a - b);
  let best: ThresholdOutcome | undefined;
  for (const threshold of candidates) {
    const outcome = outcomeAt(samples, threshold);
    if (outcome.precision >= precision) return outcome;
    if (!best || outcome.precision > best.precision) best = outcome;
  }
  return best ?? outcomeAt(samples, Number.POSITIVE_INFINITY);
}
