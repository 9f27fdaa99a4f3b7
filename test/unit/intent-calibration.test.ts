import { describe, expect, it } from 'vitest';
import { calibrateThreshold, outOfFoldPredictions } from '../../core/dialog/intent/calibrate';
import { intentConfigSchema } from '../../core/dialog/intent/config';
import { describeThreshold, IntentRecognizer } from '../../core/dialog/intent/recognizer';
import { foldForMatching } from '../../core/dialog/preprocess';

/** Eight intents, each named by its own words, phrased twelve ways: confidences spread over eight labels. */
const TOPICS: Record<string, string[]> = {
  order_status: ['parcel', 'package', 'delivery', 'shipment'],
  refund: ['refund', 'money back', 'reimbursement', 'repayment'],
  password_reset: ['password', 'login', 'sign in', 'passcode'],
  opening_hours: ['opening hours', 'open today', 'closing time', 'business hours'],
  address_change: ['address', 'postcode', 'street', 'move house'],
  invoice: ['invoice', 'receipt', 'bill', 'vat'],
  cancel_subscription: ['subscription', 'membership', 'plan', 'renewal'],
  gift_card: ['gift card', 'voucher', 'coupon', 'gift code'],
};
const FRAMES = ['help with my {}', 'question about the {}', 'i need the {} sorted', '{} please'];

const examplesOf = (words: string[]) =>
  words.flatMap((w) => FRAMES.slice(0, 3).map((f) => f.replace('{}', w)));
const config = (classifier: number | 'auto', outOfScope: string[] = []) =>
  intentConfigSchema.parse({
    thresholds: { classifier },
    calibration: { outOfScope },
    intents: Object.entries(TOPICS).map(([name, words]) => ({ name, examples: examplesOf(words) })),
  });
const OUT_OF_SCOPE = [
  'tell me a joke',
  'what is the weather like',
  'who won the football last night',
  'sing me a song',
  'how tall is the eiffel tower',
  'recommend a good film',
  'what time is it in tokyo',
  'i like turtles',
  'is it going to rain',
  'play some music',
];
const input = (text: string) => ({ text, folded: foldForMatching(text) });

describe('the recognizer chooses its classifier threshold from its own examples', () => {
  const auto = IntentRecognizer.create(config('auto', OUT_OF_SCOPE));
  const fixed = IntentRecognizer.create(config(0.7, OUT_OF_SCOPE));

  it('is auto by default, chosen by cross-validation and reported', () => {
    expect(intentConfigSchema.parse({}).thresholds.classifier).toBe('auto');
    const chosen = auto.classifierThreshold;
    expect(chosen).toMatchObject({ mode: 'auto', met: true, folds: 3, inScope: 96, outOfScope: 10 });
    if (chosen?.mode !== 'auto') throw new Error('expected an auto threshold');
    expect(chosen.precision).toBeGreaterThanOrEqual(0.9);
    expect(chosen.threshold).toBeGreaterThan(0);
    expect(chosen.threshold).toBeLessThan(0.7);
    expect(describeThreshold(chosen)).toMatch(
      /chosen by 3-fold cross-validation: expected precision .*coverage/,
    );
    expect(fixed.classifierThreshold).toEqual({ mode: 'fixed', threshold: 0.7 });
  });

  it('accepts a right but unsure answer that a fixed 0.7 would turn into unknown', async () => {
    const threshold = auto.classifierThreshold?.threshold as number;
    const result = await auto.recognize(input('shipped'));
    expect(result).toMatchObject({ name: 'order_status', tier: 'classifier' });
    expect(result.confidence).toBeGreaterThanOrEqual(threshold);
    expect(result.confidence).toBeLessThan(0.7);
    const strict = await fixed.recognize(input('shipped'));
    expect(strict).toMatchObject({ name: 'unknown', tier: 'none' });
    expect(strict.candidates).toMatchObject([{ name: 'order_status', tier: 'classifier' }]);
  });

  it('still says unknown to messages no intent covers', async () => {
    for (const text of ['tell me a joke about penguins', 'what is the weather like tomorrow']) {
      const result = await auto.recognize(input(text));
      expect(result.name).toBe('unknown');
      expect(result.candidates[0]?.confidence).toBeLessThan(auto.classifierThreshold?.threshold as number);
    }
  });

  it('raises the threshold when out-of-scope examples are given', () => {
    const withoutExamples = IntentRecognizer.create(config('auto')).classifierThreshold;
    expect(withoutExamples).toMatchObject({ mode: 'auto', outOfScope: 0 });
    expect(auto.classifierThreshold?.threshold).toBeGreaterThan(withoutExamples?.threshold as number);
  });

  it('falls back to the configured threshold when the examples are too few to cross-validate', () => {
    const few = intentConfigSchema.parse({
      calibration: { fallback: 0.65 },
      intents: [
        { name: 'a', examples: ['one', 'two', 'three'] },
        { name: 'b', examples: ['four', 'five', 'six'] },
      ],
    });
    expect(IntentRecognizer.create(few).classifierThreshold).toMatchObject({
      mode: 'fallback',
      threshold: 0.65,
      reason: expect.stringMatching(/too few/),
    });
  });

  it('trains the classifier the config names', () => {
    expect(auto.classifierModel).toBe('linear'); // 96 examples: under the ensemble's 1,000
    const ensemble = IntentRecognizer.create({ ...config(0.7), model: 'ensemble' });
    expect(ensemble.classifierModel).toBe('ensemble');
    expect(() => intentConfigSchema.parse({ model: 'bert' })).toThrow();
  });

  it('refuses a threshold that is neither auto nor a probability', () => {
    expect(() => intentConfigSchema.parse({ thresholds: { classifier: 'sometimes' } })).toThrow();
    expect(() => intentConfigSchema.parse({ thresholds: { classifier: 1.5 } })).toThrow();
    expect(() => intentConfigSchema.parse({ calibration: { targetPrecision: 0 } })).toThrow();
  });
});

describe('out-of-fold predictions', () => {
  const examples = Object.entries(TOPICS).flatMap(([label, words]) =>
    examplesOf(words).map((text) => ({ text, label })),
  );

  it('classify every example once, by a model that did not see it, and every out-of-scope message once', () => {
    const predictions = outOfFoldPredictions(examples, OUT_OF_SCOPE, { folds: 3 }) ?? [];
    expect(predictions).toHaveLength(examples.length + OUT_OF_SCOPE.length);
    expect(predictions.filter((p) => p.outOfScope)).toHaveLength(OUT_OF_SCOPE.length);
    expect(predictions.filter((p) => p.outOfScope && p.correct)).toEqual([]);
    for (const p of predictions) if (!p.outOfScope) expect(p.correct).toBe(p.gold === p.predicted);
  });

  it('gives up when a fold would train on a single intent', () => {
    const two = [
      { text: 'alpha', label: 'a' },
      { text: 'beta', label: 'b' },
    ];
    expect(outOfFoldPredictions(two, [], { folds: 2 })).toBeUndefined();
    expect(
      calibrateThreshold(two, [], { targetPrecision: 0.9, folds: 2, fallback: 0.7, outOfScopeShare: 0.2 }),
    ).toMatchObject({ mode: 'fallback', threshold: 0.7 });
  });
});
