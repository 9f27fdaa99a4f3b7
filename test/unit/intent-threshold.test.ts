import { describe, expect, it } from 'vitest';
import {
  chooseThreshold,
  operatingPoint,
  precisionCoverageCurve,
  type ScoredPrediction,
  weighOutOfScope,
} from '../../core/dialog/intent/threshold';
import { seededRandom as seeded } from '../../core/random';

/** A classifier whose confidence means something: right more often the more confident it is. */
function synthetic(n: number, seed = 1): ScoredPrediction[] {
  const next = seeded(seed);
  return Array.from({ length: n }, () => {
    const confidence = next();
    return { confidence, correct: next() < 0.3 + 0.7 * confidence };
  });
}

const precisionAt = (predictions: ScoredPrediction[], threshold: number) => {
  const accepted = predictions.filter((p) => p.confidence >= threshold);
  return accepted.filter((p) => p.correct).length / accepted.length;
};

describe('choosing the classifier threshold from held-out confidences', () => {
  const predictions = synthetic(2000);

  it('meets the target precision with the most coverage that allows', () => {
    const choice = chooseThreshold(predictions, 0.9);
    expect(choice.met).toBe(true);
    expect(choice.precision).toBeGreaterThanOrEqual(0.9);
    expect(precisionAt(predictions, choice.threshold)).toBeCloseTo(choice.precision, 12);
    // Every lower threshold misses the target: no coverage is given away.
    const lower = predictions.filter((p) => p.confidence < choice.threshold).map((p) => p.confidence);
    for (const t of lower) expect(precisionAt(predictions, t)).toBeLessThan(0.9);
    expect(choice.coverage).toBeCloseTo(
      predictions.filter((p) => p.confidence >= choice.threshold).length / predictions.length,
      12,
    );
    expect(choice.inScopeAccuracy).toBeCloseTo(choice.precision * choice.coverage, 12);
  });

  it('a stricter target gives a higher threshold and less coverage', () => {
    const targets = [0.5, 0.7, 0.8, 0.85, 0.9, 0.95, 0.99];
    const choices = targets.map((t) => chooseThreshold(predictions, t));
    for (let i = 1; i < choices.length; i++) {
      const [before, after] = [choices[i - 1], choices[i]] as [
        ReturnType<typeof chooseThreshold>,
        ReturnType<typeof chooseThreshold>,
      ];
      expect(after.threshold).toBeGreaterThanOrEqual(before.threshold);
      expect(after.coverage).toBeLessThanOrEqual(before.coverage);
    }
    expect(choices[0]?.threshold).toBeLessThan(choices.at(-1)?.threshold as number);
  });

  it('accepts everything when every prediction is right', () => {
    const allRight = [0.2, 0.5, 0.9].map((confidence) => ({ confidence, correct: true }));
    expect(chooseThreshold(allRight, 0.99)).toMatchObject({
      threshold: 0.2,
      coverage: 1,
      precision: 1,
      met: true,
    });
  });

  it('rejects everything (threshold 1, not met) when no threshold reaches the target or there is nothing to go on', () => {
    const allWrong = [0.2, 0.5, 0.9].map((confidence) => ({ confidence, correct: false }));
    expect(chooseThreshold(allWrong, 0.5)).toMatchObject({ threshold: 1, coverage: 0, met: false });
    expect(chooseThreshold([], 0.9)).toMatchObject({ threshold: 1, met: false, inScope: 0 });
    // The most confident prediction is wrong and the rest never recover the target.
    const badTop = [
      { confidence: 0.95, correct: false },
      { confidence: 0.9, correct: true },
      { confidence: 0.8, correct: false },
    ];
    expect(chooseThreshold(badTop, 0.6).met).toBe(false);
    expect(chooseThreshold(badTop, 0.5)).toMatchObject({ threshold: 0.9, precision: 0.5, met: true });
  });

  it('takes or leaves equal confidences together and ignores non-finite ones', () => {
    const ties = [
      { confidence: 0.8, correct: true },
      { confidence: 0.6, correct: true },
      { confidence: 0.6, correct: false },
      { confidence: 0.6, correct: false },
      { confidence: Number.NaN, correct: true },
    ];
    const curve = precisionCoverageCurve(ties);
    expect(curve.map((p) => p.threshold)).toEqual([0.8, 0.6]);
    expect(curve[1]).toMatchObject({ precision: 0.5, coverage: 1 });
    expect(chooseThreshold(ties, 0.6).threshold).toBe(0.8);
  });

  it('refuses a target outside [0, 1]', () => {
    expect(() => chooseThreshold(predictions, 1.5)).toThrow(RangeError);
    expect(() => chooseThreshold(predictions, Number.NaN)).toThrow(RangeError);
  });

  it('counts accepted out-of-scope messages as errors and reports how many are rejected', () => {
    const mixed: ScoredPrediction[] = [
      { confidence: 0.9, correct: true },
      { confidence: 0.8, correct: true },
      { confidence: 0.5, correct: false, outOfScope: true },
      { confidence: 0.4, correct: true },
      { confidence: 0.2, correct: false, outOfScope: true },
    ];
    const choice = chooseThreshold(mixed, 0.75);
    expect(choice).toMatchObject({ threshold: 0.4, precision: 0.75, coverage: 1, outOfScopeRecall: 0.5 });
    // At 0.5 the out-of-scope message makes it 2 right of 3: below 0.8.
    expect(chooseThreshold(mixed, 0.8)).toMatchObject({ threshold: 0.8, precision: 1, outOfScopeRecall: 1 });
    expect(operatingPoint(mixed, 0.3)).toEqual({
      threshold: 0.3,
      precision: 0.75,
      coverage: 1,
      inScopeAccuracy: 1,
      outOfScopeRecall: 0.5,
    });
  });

  it('weighs a few out-of-scope examples to stand for their share of the traffic', () => {
    const mixed: ScoredPrediction[] = [
      ...Array.from({ length: 8 }, (_, i) => ({ confidence: 0.5 + i / 20, correct: true })),
      { confidence: 0.6, correct: false, outOfScope: true },
      { confidence: 0.3, correct: false, outOfScope: true },
    ];
    // Unweighted, one accepted out-of-scope message among 8 right ones still gives 8/9.
    expect(chooseThreshold(mixed, 0.85).threshold).toBe(0.5);
    // As half of the traffic, each stands for four messages: accepting the one at 0.6 costs too much.
    const weighed = weighOutOfScope(mixed, 0.5);
    expect(weighed.filter((p) => p.outOfScope).map((p) => p.weight)).toEqual([4, 4]);
    const choice = chooseThreshold(weighed, 0.85);
    expect(choice.threshold).toBeCloseTo(0.65, 12);
    expect(choice.outOfScopeRecall).toBe(1);
    expect(weighOutOfScope(mixed, 0)).toEqual(mixed);
    expect(() => weighOutOfScope(mixed, 1)).toThrow(RangeError);
  });
});
