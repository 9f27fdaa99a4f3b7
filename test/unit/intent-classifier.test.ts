import { describe, expect, it } from 'vitest';
import { IntentClassifier, resolveModel } from '../../core/dialog/intent/classifier';

const WORDS: Record<string, string[]> = {
  order_status: ['parcel', 'package', 'delivery', 'shipment'],
  refund: ['refund', 'money back', 'reimbursement', 'repayment'],
  password_reset: ['password', 'login', 'sign in', 'passcode'],
};
const FRAMES = ['help with my {}', 'question about the {}', 'i need the {} sorted', 'what about my {}'];
const examples = Object.entries(WORDS).flatMap(([label, words]) =>
  words.flatMap((w) => FRAMES.map((f) => ({ text: f.replace('{}', w), label }))),
);

describe('the classifier: regression alone, or with the embedding model', () => {
  it('trains the ensemble from `ensembleFrom` examples on, the regression below', () => {
    expect(resolveModel(999)).toBe('linear');
    expect(resolveModel(1000)).toBe('ensemble');
    expect(resolveModel(10, { model: 'ensemble' })).toBe('ensemble');
    expect(resolveModel(10_000, { model: 'linear' })).toBe('linear');
    expect(resolveModel(40, { ensembleFrom: 40 })).toBe('ensemble');
    expect(IntentClassifier.train(examples).model).toBe('linear');
    expect(IntentClassifier.train(examples, { model: 'ensemble' }).model).toBe('ensemble');
  });

  it('the ensemble classifies, ranks with probabilities that sum to 1, and is deterministic for a seed', () => {
    const a = IntentClassifier.train(examples, { model: 'ensemble', minDf: 1, seed: 5 });
    const b = IntentClassifier.train(examples, { model: 'ensemble', minDf: 1, seed: 5 });
    for (const [text, label] of [
      ['where is my parcel', 'order_status'],
      ['i want my money back', 'refund'],
      ['forgot my passcode', 'password_reset'],
    ] as const) {
      const result = a.classify(text);
      expect(result.label).toBe(label);
      expect(b.classify(text)).toEqual(result);
    }
    const { ranking } = a.classify('package');
    expect(ranking).toHaveLength(3);
    expect(ranking.reduce((sum, r) => sum + r.confidence, 0)).toBeCloseTo(1, 6);
  });

  it('the embedding model changes the probabilities; a weight of 0 gives back the regression', () => {
    const linear = IntentClassifier.train(examples, { model: 'linear', minDf: 1 }).classify('the shipment');
    const zero = IntentClassifier.train(examples, { model: 'ensemble', embeddingWeight: 0, minDf: 1 });
    const mixed = IntentClassifier.train(examples, { model: 'ensemble', minDf: 1 });
    expect(zero.classify('the shipment').confidence).toBeCloseTo(linear.confidence, 9);
    expect(mixed.classify('the shipment').confidence).not.toBeCloseTo(linear.confidence, 3);
  });
});
