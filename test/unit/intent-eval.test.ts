import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CURVE_THRESHOLDS,
  crossValidate,
  evaluateHeldOut,
  formatHeldOutReport,
  formatReport,
  loadLabelledCsv,
} from '../../core/dialog/intent/eval';

/** A small CLINC150-like pair of files: six intents, and out-of-scope rows labelled `oos`. */
const TOPICS: Record<string, string[]> = {
  order_status: ['parcel', 'package', 'delivery', 'shipment', 'courier'],
  refund: ['refund', 'money back', 'reimbursement', 'repayment', 'chargeback'],
  password_reset: ['password', 'login', 'sign in', 'passcode', 'locked account'],
  opening_hours: ['opening hours', 'open today', 'closing time', 'business hours', 'holiday hours'],
  invoice: ['invoice', 'receipt', 'bill', 'vat', 'tax document'],
  gift_card: ['gift card', 'voucher', 'coupon', 'gift code', 'promo code'],
};
const TRAIN_FRAMES = ['help with my {}', 'question about the {}', 'i need the {} sorted', 'what about my {}'];
const VALIDATION_FRAMES = ['can you check the {}', 'my {} please'];
const OOS_TRAIN = ['tell me a joke', 'what is the weather like', 'sing me a song', 'who is the president'];
const OOS_VALIDATION = ['how tall is mount everest', 'play some jazz', 'what is two plus two'];

const csv = (rows: [string, string][]) =>
  ['text,intent', ...rows.map(([text, label]) => `"${text.replace(/"/g, '""')}",${label}`)].join('\r\n');
const rowsOf = (frames: string[], oos: string[]): [string, string][] => [
  ...Object.entries(TOPICS).flatMap(([label, words]) =>
    words.flatMap((w) => frames.map((f): [string, string] => [f.replace('{}', w), label])),
  ),
  ...oos.map((text): [string, string] => [text, 'oos']),
];

const dir = mkdtempSync(join(tmpdir(), 'intent-eval-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(join(dir, 'train.csv'), csv(rowsOf(TRAIN_FRAMES, OOS_TRAIN)));
writeFileSync(join(dir, 'validation.csv'), csv(rowsOf(VALIDATION_FRAMES, OOS_VALIDATION)));

describe('hub intents eval, CLINC150 style (--validation, --oos-label)', () => {
  it('calibrates on the training split and reports in-scope accuracy and out-of-scope recall on validation', async () => {
    const train = await loadLabelledCsv(join(dir, 'train.csv'));
    const validation = await loadLabelledCsv(join(dir, 'validation.csv'));
    const report = evaluateHeldOut(train, validation, {
      outOfScopeLabel: 'oos',
      targetPrecision: 0.9,
      folds: 3,
    });
    // The out-of-scope rows are held apart: never an intent of the model, used for the threshold.
    expect(report.train).toEqual({ inScope: 120, outOfScope: 4, labels: 6 });
    expect(report.validation).toEqual({ inScope: 60, outOfScope: 3 });
    expect(report.calibration).toMatchObject({ inScope: 120, outOfScope: 4, targetPrecision: 0.9 });
    expect(report.calibration.curve).toHaveLength(CURVE_THRESHOLDS.length);
    expect(report.atChosen.threshold).toBe(report.calibration.threshold);
    expect(report.accuracyWithoutThreshold).toBeGreaterThan(0.9);
    expect(report.atChosen.inScopeAccuracy).toBeLessThanOrEqual(report.accuracyWithoutThreshold);
    expect(report.atChosen.outOfScopeRecall).toBeDefined();
    const text = formatHeldOutReport(report);
    expect(text).toContain(
      'precision/coverage curve (training split, out-of-fold confidences; 120 in scope, 4 out of scope)',
    );
    expect(text).toContain(
      'precision/coverage curve (validation split confidences; 60 in scope, 3 out of scope)',
    );
    expect(text).toMatch(/chosen threshold [\d.]+: in-scope accuracy [\d.]+% .*out-of-scope recall [\d.]+%/);
  });

  it('counts an in-scope query right only when it is predicted right AND accepted', async () => {
    const train = await loadLabelledCsv(join(dir, 'train.csv'));
    const validation = await loadLabelledCsv(join(dir, 'validation.csv'));
    const report = evaluateHeldOut(train, validation, { outOfScopeLabel: 'oos', fixedThreshold: 1 });
    // A threshold nothing reaches: every prediction rejected, every out-of-scope query caught.
    expect(report.atFixed).toMatchObject({
      threshold: 1,
      coverage: 0,
      inScopeAccuracy: 0,
      outOfScopeRecall: 1,
    });
    expect(report.atFixed.outOfScopePrecision).toBeCloseTo(3 / 63, 12);
    const lowest = report.validationCurve[0];
    expect(lowest?.inScopeAccuracy).toBeLessThanOrEqual(report.accuracyWithoutThreshold);
  });

  it('cross-validation reports the out-of-fold curve and the point auto would choose', async () => {
    const train = (await loadLabelledCsv(join(dir, 'train.csv'))).filter((e) => e.label !== 'oos');
    const report = crossValidate(train, { folds: 3, targetPrecision: 0.95 });
    expect(report.calibration).toMatchObject({ inScope: 120, outOfScope: 0, targetPrecision: 0.95 });
    if (report.calibration.met) expect(report.calibration.precision).toBeGreaterThanOrEqual(0.95);
    expect(formatReport(report)).toMatch(
      /chosen for target precision 95.00%:|no threshold reaches target precision 95.00%/,
    );
  });
});
