import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { stratifiedFolds } from '../../core/dialog/intent/calibrate';
import { IntentClassifier } from '../../core/dialog/intent/classifier';
import type { KyselyStore } from '../../core/store';
import { MISCLASSIFIED, REVIEW_INTENTS } from '../support/review-intents';
import {
  a11y,
  type ConsoleHub,
  describeBrowser,
  fitsWidth,
  login,
  openBrowser,
  shot,
  startConsoleHub,
} from './harness';

/**
 * The Intents page end to end: scripted REST turns (one the classifier gets wrong) → the confidence
 * distribution; the offline evaluation run from the page, its figures checked against ones computed
 * here from out-of-fold predictions; the wrong turn labelled by a supervisor, approved by an admin,
 * written to the learned-examples file, and recognized right once the hub has retrained.
 */

const INTENTS = REVIEW_INTENTS;
const WITH_EMAIL = 'send the refund note to bob.jones@example.com';

const dir = mkdtempSync(join(tmpdir(), 'console-intents-'));
const examplesFile = join(dir, 'intent-examples.yaml');
mkdirSync(join(dir, 'flows'));
writeFileSync(
  join(dir, 'dialog.yaml'),
  [
    `flowsDir: ${join(dir, 'flows')}`,
    'intents:',
    '  model: linear',
    '  thresholds: { classifier: 0.5 }',
    '  intents:',
    ...Object.entries(INTENTS).flatMap(([name, examples]) => [
      `    - name: ${name}`,
      '      examples:',
      ...examples.map((e) => `        - ${JSON.stringify(e)}`),
    ]),
  ].join('\n'),
);

let hub: ConsoleHub;
let browser: Browser;

beforeAll(async () => {
  [hub, browser] = await Promise.all([
    startConsoleHub({
      dialog: { file: join(dir, 'dialog.yaml'), examplesFile },
      channels: [
        { id: 'rest', type: 'rest', auth: 'none', tenant: 'acme' },
        { id: 'webchat', type: 'webchat' },
      ],
    }),
    openBrowser(),
  ]);
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await hub?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function say(sender: string, message: string): Promise<void> {
  const response = await fetch(`${hub.url}/webhooks/rest`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ sender, message }),
  });
  expect(response.status, await response.clone().text()).toBe(200);
}

/** JSON from an admin route with the page's session. */
function api<T>(page: Page, path: string): Promise<T> {
  return page.evaluate(async (url) => (await fetch(url)).json(), path) as Promise<T>;
}

interface Overview {
  overall: { turns: number; histogram: number[]; unknownRate: number | null };
  intents: Array<{ intent: string; turns: number; histogram: number[] }>;
  classifier: { examples: number; reloadedAt: string | null; reloading: boolean };
}
interface ReviewTurn {
  eventId: string;
  text: string;
  predicted: string;
  label: { id: string; intent: string; status: string } | null;
}

/** Accuracy and macro-F1 from out-of-fold predictions, as written down in README "Intent evaluation". */
function independentFigures() {
  const examples = Object.entries(INTENTS).flatMap(([label, texts]) =>
    texts.map((text) => ({ text, label })),
  );
  const folds = stratifiedFolds(examples, 5, 7);
  const gold: string[] = [];
  const predicted: string[] = [];
  for (let k = 0; k < 5; k++) {
    const model = IntentClassifier.train(
      examples.filter((_, i) => folds[i] !== k),
      { model: 'linear' },
    );
    examples.forEach((e, i) => {
      if (folds[i] !== k) return;
      gold.push(e.label);
      predicted.push(model.classify(e.text).label);
    });
  }
  const accuracy = gold.filter((g, i) => g === predicted[i]).length / gold.length;
  const f1s = Object.keys(INTENTS).map((label) => {
    const tp = gold.filter((g, i) => g === label && predicted[i] === label).length;
    const fp = gold.filter((g, i) => g !== label && predicted[i] === label).length;
    const fn = gold.filter((g, i) => g === label && predicted[i] !== label).length;
    return tp === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn);
  });
  return { accuracy, macroF1: f1s.reduce((a, b) => a + b, 0) / f1s.length };
}
const pct = (x: number) => `${(x * 100).toFixed(2)} %`;

describeBrowser('the Intents page', { timeout: 300_000 }, () => {
  it('shows the distribution, runs the evaluation, and learns from an approved label', async () => {
    for (const [sender, text] of [
      ['u1', 'where is my order'],
      ['u2', 'when are you open'],
      ['u3', 'i want a refund'],
      ['u4', MISCLASSIFIED],
      ['u5', WITH_EMAIL],
    ] as const) {
      await say(sender, text);
    }

    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await login(page, hub.url, hub.operators.supervisor);
    // The turns' facts are written after the replies: wait for all five.
    await expect
      .poll(async () => (await api<Overview>(page, '/admin/intents')).overall.turns, { timeout: 60_000 })
      .toBe(5);
    const overview = await api<Overview>(page, '/admin/intents');
    const order = overview.intents.find((i) => i.intent === 'order_status');
    // The misclassified turn counts as order_status, with a confidence in [0.5, 0.6).
    expect(order?.turns).toBe(2);
    expect(order?.histogram[5]).toBe(1);

    const started = Date.now();
    await page.goto(`${hub.url}/console/intents`);
    await page.waitForSelector('[data-testid=intents-ready]');
    await page.waitForSelector('[data-testid=review-queue]');
    const loadMs = Date.now() - started;
    console.log(`Intents page load (navigation to figures and review queue shown): ${loadMs} ms`);
    expect(await page.textContent('[data-stat="Recognized turns"]')).toBe('5');
    expect(
      await page.getAttribute('[aria-label^="order_status: turns per confidence tenth"]', 'data-histogram'),
    ).toBe(order?.histogram.join(','));
    expect(await page.$('figure.chart canvas')).not.toBeNull();

    // The evaluation, run from the page, and its figures against the ones computed here.
    await page.click('[data-testid=run-evaluation]');
    await page.waitForSelector('[data-stat="Accuracy"]', { timeout: 60_000 });
    const expected = independentFigures();
    expect(await page.textContent('[data-stat="Accuracy"]')).toBe(pct(expected.accuracy));
    expect(await page.textContent('[data-stat="Macro-F1"]')).toBe(pct(expected.macroF1));
    expect(await page.textContent('[data-testid=evaluation-meta]')).toContain(
      '5-fold cross-validation of 18',
    );

    // The supervisor labels the misclassified turn.
    const item = page.locator('.review-item', { hasText: MISCLASSIFIED });
    await item.locator('select').selectOption('refund');
    await item.getByRole('button', { name: 'Label' }).click();
    await expect
      .poll(() => item.textContent(), { timeout: 30_000 })
      .toContain('labelled refund by Sam Supervisor');
    await shot(page, 'intents-supervisor');
    expect(await a11y(page)).toEqual([]);
    expect(await fitsWidth(page, 390)).toBe(true);
    await shot(page, 'intents-390');
    expect(errors).toEqual([]);

    // An analyst reads the queue with personal data masked, and has no label controls.
    const analystContext = await browser.newContext();
    const analyst = await analystContext.newPage();
    await login(analyst, hub.url, hub.operators.analyst, '/console/intents');
    await analyst.waitForSelector('[data-testid=review-queue]');
    await analyst.getByLabel('Show turns below confidence').selectOption('1');
    const queue = analyst.locator('[data-testid=review-queue]');
    await expect.poll(() => queue.locator('.review-item').count(), { timeout: 30_000 }).toBe(5);
    const queueText = (await queue.textContent()) ?? '';
    expect(queueText).not.toContain('bob.jones');
    expect(queueText).toContain('example.com');
    expect(await analyst.$('.review-item select')).toBeNull();
    await analystContext.close();

    // An admin approves it: the example lands in the training file, the hub retrains.
    const adminContext = await browser.newContext();
    const admin = await adminContext.newPage();
    await login(admin, hub.url, hub.operators.admin, '/console/intents');
    const pending = admin.locator('.review-item', { hasText: MISCLASSIFIED });
    await pending.getByRole('button', { name: 'Approve' }).click();
    await expect.poll(() => pending.textContent(), { timeout: 30_000 }).toContain('(approved)');
    const learned = parseYaml(readFileSync(examplesFile, 'utf8')) as { examples: Record<string, string[]> };
    expect(learned.examples).toEqual({ refund: [MISCLASSIFIED] });
    await expect
      .poll(async () => (await api<Overview>(admin, '/admin/intents')).classifier.reloadedAt, {
        timeout: 60_000,
      })
      .not.toBeNull();
    expect((await api<Overview>(admin, '/admin/intents')).classifier.examples).toBe(19);
    const trail = await (hub.hub.store as KyselyStore).auditTrail({ limit: 50 });
    expect(trail.map((r) => r.action)).toEqual(
      expect.arrayContaining([
        'operator.intent.label',
        'operator.intent.label.approve',
        'operator.intent.evaluate',
      ]),
    );

    // The same words from another customer are now recognized as refund.
    await say('u6', MISCLASSIFIED);
    await expect
      .poll(
        async () => {
          const { turns } = await api<{ turns: ReviewTurn[] }>(admin, '/admin/intents/review?below=1');
          return turns.filter((t) => t.text === MISCLASSIFIED).map((t) => t.predicted);
        },
        { timeout: 60_000 },
      )
      .toEqual(['refund', 'order_status']);
    await admin.reload();
    await admin.waitForSelector('[data-testid=intents-ready]');
    await shot(admin, 'intents-after-approval');
    expect(await a11y(admin)).toEqual([]);
    await adminContext.close();
    await context.close();
  });
});
