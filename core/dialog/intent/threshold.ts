/**
 * Choosing the classifier's "unknown" threshold from held-out predictions: each prediction is the
 * classifier's confidence on an example it was not trained on, whether its label was right, and
 * whether the example belongs to no intent at all (out of scope: never right, to be rejected).
 *
 * A prediction is accepted when its confidence is at or above the threshold. Of the accepted, the
 * share that is right is the precision; of the in-scope examples, the share accepted is the
 * coverage. The chosen threshold is the lowest one whose precision reaches the target: the most
 * coverage the target allows.
 */

export interface ScoredPrediction {
  confidence: number;
  /** In scope and labelled right. */
  correct: boolean;
  /** The example belongs to no intent: accepting it is an error whatever the label. */
  outOfScope?: boolean;
  /** How many messages of real traffic this one stands for in the precision (default 1). */
  weight?: number;
}

export interface OperatingPoint {
  /** Accept predictions with a confidence at or above this. */
  threshold: number;
  /** Right among the accepted, by weight (1 when nothing is accepted). */
  precision: number;
  /** In-scope examples accepted, over all in-scope examples. */
  coverage: number;
  /** In-scope examples accepted and right, over all in-scope examples. */
  inScopeAccuracy: number;
  /** Out-of-scope examples rejected, over all out-of-scope examples (undefined without any). */
  outOfScopeRecall?: number;
}

export interface ThresholdChoice extends OperatingPoint {
  targetPrecision: number;
  /** Whether some threshold reaches the target; if not, the threshold rejects every prediction. */
  met: boolean;
  inScope: number;
  outOfScope: number;
  /** One point per distinct confidence, highest threshold first. */
  curve: OperatingPoint[];
}

/** Every operating point, one per distinct confidence, from the highest threshold to the lowest. */
export function precisionCoverageCurve(predictions: readonly ScoredPrediction[]): OperatingPoint[] {
  const sorted = predictions
    .filter((p) => Number.isFinite(p.confidence))
    .sort((a, b) => b.confidence - a.confidence);
  const inScope = sorted.filter((p) => !p.outOfScope).length;
  const outOfScope = sorted.length - inScope;
  const curve: OperatingPoint[] = [];
  let accepted = 0;
  let right = 0;
  let rightCount = 0;
  let acceptedInScope = 0;
  let acceptedOutOfScope = 0;
  for (let i = 0; i < sorted.length; i++) {
    const p = sorted[i] as ScoredPrediction;
    const weight = p.weight ?? 1;
    accepted += weight;
    if (p.outOfScope) acceptedOutOfScope++;
    else {
      acceptedInScope++;
      if (p.correct) {
        right += weight;
        rightCount++;
      }
    }
    // Equal confidences are accepted or rejected together: one point after the last of them.
    if (i + 1 < sorted.length && (sorted[i + 1] as ScoredPrediction).confidence === p.confidence) continue;
    curve.push({
      threshold: p.confidence,
      precision: accepted ? right / accepted : 1,
      coverage: inScope ? acceptedInScope / inScope : 0,
      inScopeAccuracy: inScope ? rightCount / inScope : 0,
      ...(outOfScope ? { outOfScopeRecall: 1 - acceptedOutOfScope / outOfScope } : {}),
    });
  }
  return curve;
}

/**
 * The lowest threshold whose accepted predictions are right at `targetPrecision` or more. When no
 * threshold reaches it (or there are no predictions), `met` is false and the threshold is 1: the
 * classifier alone decides nothing, the next tier or `unknown` does.
 */
export function chooseThreshold(
  predictions: readonly ScoredPrediction[],
  targetPrecision: number,
): ThresholdChoice {
  if (!(targetPrecision >= 0 && targetPrecision <= 1)) {
    throw new RangeError(`target precision must be within 0 and 1, got ${targetPrecision}`);
  }
  const curve = precisionCoverageCurve(predictions);
  const inScope = predictions.filter((p) => !p.outOfScope && Number.isFinite(p.confidence)).length;
  const outOfScope = predictions.filter((p) => p.outOfScope && Number.isFinite(p.confidence)).length;
  let chosen: OperatingPoint | undefined;
  for (const point of curve) if (point.precision >= targetPrecision) chosen = point;
  const common = { targetPrecision, inScope, outOfScope, curve };
  if (chosen) return { ...chosen, met: true, ...common };
  return {
    threshold: 1,
    precision: 1,
    coverage: 0,
    inScopeAccuracy: 0,
    ...(outOfScope ? { outOfScopeRecall: 1 } : {}),
    met: false,
    ...common,
  };
}

/** The operating point a given threshold gives on these predictions. */
export function operatingPoint(predictions: readonly ScoredPrediction[], threshold: number): OperatingPoint {
  const inScope = predictions.filter((p) => !p.outOfScope);
  const outOfScope = predictions.filter((p) => p.outOfScope);
  const accepted = predictions.filter((p) => p.confidence >= threshold);
  const right = accepted.filter((p) => p.correct && !p.outOfScope);
  const acceptedInScope = accepted.filter((p) => !p.outOfScope).length;
  const weightOf = (ps: readonly ScoredPrediction[]) => ps.reduce((sum, p) => sum + (p.weight ?? 1), 0);
  const acceptedWeight = weightOf(accepted);
  return {
    threshold,
    precision: acceptedWeight ? weightOf(right) / acceptedWeight : 1,
    coverage: inScope.length ? acceptedInScope / inScope.length : 0,
    inScopeAccuracy: inScope.length ? right.length / inScope.length : 0,
    ...(outOfScope.length
      ? { outOfScopeRecall: outOfScope.filter((p) => p.confidence < threshold).length / outOfScope.length }
      : {}),
  };
}

/**
 * Weighs the out-of-scope predictions so that they make up `share` of the traffic the precision is
 * measured on: a deployment has a few dozen such examples against thousands of intent examples,
 * while its customers send many more messages that no intent covers. Without out-of-scope
 * predictions, or with a share of 0, the predictions are returned as they are.
 */
export function weighOutOfScope(predictions: readonly ScoredPrediction[], share: number): ScoredPrediction[] {
  if (!(share >= 0 && share < 1))
    throw new RangeError(`out-of-scope share must be within [0, 1), got ${share}`);
  const outOfScope = predictions.filter((p) => p.outOfScope).length;
  const inScope = predictions.length - outOfScope;
  if (!outOfScope || !inScope || share === 0) return [...predictions];
  const weight = ((share / (1 - share)) * inScope) / outOfScope;
  return predictions.map((p) => (p.outOfScope ? { ...p, weight } : { ...p, weight: 1 }));
}
