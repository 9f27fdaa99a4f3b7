import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AnalyticsStore, type TurnFact } from '../../core/analytics';
import { IntentClassifier } from '../../core/dialog/intent/classifier';
import { confusionList, crossValidate, intentScores, macroF1 } from '../../core/dialog/intent/eval';
import { loadLearnedExamples } from '../../core/dialog/intent/learned';
import { loadIntentConfig } from '../../core/dialog/setup';
import { registerIntentRoutes } from '../../core/intents/routes';
import { configExamples, evaluateExamples } from '../../core/intents/service';
import { IntentReviewStore } from '../../core/intents/store';
import { AtRest } from '../../core/privacy/at-rest';
import type { Caller } from '../../core/security/caller';
import type { KyselyStore } from '../../core/store';
import { rotateDataKeys } from '../../core/store/key-rotation';
import type { InboundEvent } from '../../core/types';
import { openTestStore, type TestStore } from '../support/postgres';
import { MISCLASSIFIED, REVIEW_INTENTS } from '../support/review-intents';

/** The Intents page's routes on a real store: distribution, review queue, labels, approval into the training file, evaluation. */

const INTENTS = REVIEW_INTENTS;

const dir = mkdtempSync(join(tmpdir(), 'intent-review-'));
const dialogFile = join(dir, 'dialog.yaml');
const examplesFile = join(dir, 'intent-examples.yaml');
writeFileSync(
  dialogFile,
  `flowsDir: ${join(dir, 'flows')}\nintents:\n  model: linear\n  intents:\n${Object.entries(INTENTS)
    .map(
      ([name, examples]) =>
        `    - name: ${name}\n      examples:\n${examples.map((e) => `        - ${JSON.stringify(e)}`).join('\n')}`,
    )
    .join('\n')}\n`,
);
const hub = { dialog: { file: dialogFile, examplesFile } };

const T0 = new Date('2026-11-02T08:00:00Z');
let store: KyselyStore;
let analytics: AnalyticsStore;
let app: FastifyInstance;
let caller: Caller;
let classifier: IntentClassifier;
const as = (role: Caller['role'], tenants = ['*']): Caller => ({
  kind: 'operator',
  id: `op-${role}`,
  name: role,
  role,
  tenants,
});

async function turn(id: string, text: string, intent: string, confidence: number, tenant = 'acme') {
  const event: InboundEvent = {
    id,
    kind: 'message',
    ref: { channel: 'rest', tenant, conversation: `c-${id}` },
    sender: { id: `u-${id}` },
    receivedAt: T0.toISOString(),
    text,
    addressedToBot: true,
    raw: {},
  };
  await store.recordInbound(event);
  const fact: TurnFact = {
    eventId: id,
    conversationKey: `rest:${tenant}:c-${id}`,
    tenant,
    channel: 'rest',
    customer: true,
    language: 'en',
    intent,
    confidence,
    confidenceBucket: Math.min(9, Math.floor(confidence * 10)),
    decision: 'answer',
    answerRan: true,
    unanswered: false,
    surveyAsked: false,
    handoff: false,
    withBotBefore: true,
    replies: 1,
    at: T0,
  };
  await analytics.record(fact, new Date(T0.getTime() + 200));
}

const inject = (method: 'GET' | 'POST', url: string, payload?: unknown) =>
  app.inject({
    method,
    url,
    remoteAddress: '127.0.0.1',
    headers: { host: 'localhost', ...(payload ? { 'content-type': 'application/json' } : {}) },
    ...(payload ? { payload: JSON.stringify(payload) } : {}),
  });
const RANGE = 'from=2026-11-01&to=2026-11-03';

describe('the evaluation figures', () => {
  it('scores each intent, averages the F1s into macro-F1 and lists the confusions', () => {
    const gold = ['a', 'a', 'a', 'b', 'b', 'c'];
    const predicted = ['a', 'b', 'a', 'b', 'a', 'b'];
    // a: tp 2, fp 1, fn 1 → P 2/3 R 2/3 F1 2/3; b: tp 1, fp 2, fn 1 → P 1/3 R 1/2 F1 0.4; c: 0.
    expect(intentScores(gold, predicted)).toEqual([
      { intent: 'a', support: 3, precision: 2 / 3, recall: 2 / 3, f1: 2 / 3 },
      { intent: 'b', support: 2, precision: 1 / 3, recall: 1 / 2, f1: 0.4 },
      { intent: 'c', support: 1, precision: 0, recall: 0, f1: 0 },
    ]);
    expect(macroF1(gold, predicted)).toBeCloseTo((2 / 3 + 0.4) / 3, 12);
    expect(confusionList(gold, predicted)).toEqual([
      { gold: 'a', predicted: 'b', count: 1 },
      { gold: 'b', predicted: 'a', count: 1 },
      { gold: 'c', predicted: 'b', count: 1 },
    ]);
  });

  it('refuses to cross-validate intents with fewer than two examples, saying how to fix it', () => {
    const one = [
      { text: 'a', label: 'x' },
      { text: 'b', label: 'y' },
      { text: 'c', label: 'y' },
    ];
    expect(() => evaluateExamples(one)).toThrow(
      /two intents or more .*the smallest has 1.*Fix: add examples/,
    );
  });

  it('the classifier of the test takes the probe for another intent (the premise of the labelling case)', async () => {
    const trained = IntentClassifier.train(configExamples(await loadIntentConfig(hub)), { model: 'linear' });
    expect(trained.classify(MISCLASSIFIED).label).toBe('order_status');
  });
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.each(['pglite', 'postgres'] as const)('intent review on %s', (driver) => {
  let test: TestStore;
  beforeAll(async () => {
    rmSync(examplesFile, { force: true });
    test = await openTestStore(driver, 'intent_review');
    store = test.store;
    analytics = new AnalyticsStore(store.db, 30, randomBytes(32));
    classifier = IntentClassifier.train(configExamples(await loadIntentConfig(hub)), { model: 'linear' });
    app = Fastify();
    app.addHook('onRequest', async (request) => {
      request.caller = caller;
    });
    registerIntentRoutes(app, new IntentReviewStore(store.db), {
      loadIntents: () => loadIntentConfig(hub),
      examplesFile,
      dataset: 'test config',
      reloadIntents: async () => {
        const examples = configExamples(await loadIntentConfig(hub));
        classifier = IntentClassifier.train(examples, { model: 'linear' });
        return examples.length;
      },
      audit: store,
      now: () => T0,
    });
    await turn('t1', 'where is my order', 'order_status', 0.95);
    await turn('t2', 'when are you open', 'opening_hours', 0.91);
    await turn('t3', MISCLASSIFIED, classifier.classify(MISCLASSIFIED).label, 0.56);
    await turn('t4', 'refund it to bob.jones@example.com please', 'unknown', 0.42);
    await turn('t5', 'is the shop open on easter', 'opening_hours', 0.88, 'other');
  });

  afterAll(async () => {
    await app?.close();
    await test?.dispose();
  });

  describe('GET /admin/intents', () => {
    it('answers the confidence distribution per intent and overall, and the unknown rate', async () => {
      caller = as('analyst');
      const response = await inject('GET', `/admin/intents?${RANGE}`);
      expect(response.statusCode, response.body).toBe(200);
      const body = response.json();
      expect(body.overall.turns).toBe(5);
      expect(body.overall.unknownRate).toBeCloseTo(1 / 5, 12);
      expect(body.overall.histogram).toEqual([0, 0, 0, 0, 1, 1, 0, 0, 1, 2]);
      const opening = body.intents.find((i: { intent: string }) => i.intent === 'opening_hours');
      expect(opening).toMatchObject({ turns: 2, configured: true, share: 2 / 5 });
      expect(opening.histogram).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 1, 1]);
      expect(body.intents.find((i: { intent: string }) => i.intent === 'refund')).toMatchObject({
        turns: 0,
        configured: true,
      });
      expect(body.configured).toEqual(['order_status', 'refund', 'opening_hours']);
      expect(body.classifier).toMatchObject({ reload: 'in-process', reloading: false });
    });

    it("shows an operator scoped to a tenant that tenant's turns only", async () => {
      caller = as('supervisor', ['other']);
      const body = (await inject('GET', `/admin/intents?${RANGE}`)).json();
      expect(body.overall.turns).toBe(1);
      caller = as('admin');
    });

    it('refuses a malformed day, a reversed range and an unknown parameter with 400', async () => {
      caller = as('admin');
      for (const query of ['from=2026-13', 'from=2026-11-03&to=2026-11-01', 'x=1']) {
        const response = await inject('GET', `/admin/intents?${query}`);
        expect(response.statusCode, query).toBe(400);
        expect(response.json().error.code).toBe('admin.invalid_query');
      }
    });
  });

  describe('the review queue, labels and approval', () => {
    it('lists unknown and low-confidence turns, the text masked for analysts only', async () => {
      caller = as('supervisor');
      const queue = (await inject('GET', `/admin/intents/review?${RANGE}`)).json().turns;
      expect(queue.map((t: { eventId: string }) => t.eventId).sort()).toEqual(['t3', 't4']);
      expect(queue.find((t: { eventId: string }) => t.eventId === 't4').text).toContain(
        'bob.jones@example.com',
      );
      caller = as('analyst');
      const masked = (await inject('GET', `/admin/intents/review?${RANGE}`)).json().turns;
      expect(masked.find((t: { eventId: string }) => t.eventId === 't4').text).not.toContain('bob.jones');
      const all = (await inject('GET', `/admin/intents/review?${RANGE}&below=1`)).json().turns;
      expect(all).toHaveLength(5);
      expect((await inject('GET', `/admin/intents/review?below=2`)).statusCode).toBe(400);
    });

    it('refuses a label of an undefined intent (400), of a turn out of scope (404)', async () => {
      caller = as('supervisor');
      const bad = await inject('POST', '/admin/intents/labels', { eventId: 't3', intent: 'weather' });
      expect(bad.statusCode).toBe(400);
      expect(bad.json().error.code).toBe('intents.invalid_label');
      expect((await inject('POST', '/admin/intents/labels', { eventId: 't3' })).statusCode).toBe(400);
      caller = as('supervisor', ['other']);
      const hidden = await inject('POST', '/admin/intents/labels', { eventId: 't3', intent: 'refund' });
      expect(hidden.statusCode).toBe(404);
      expect(
        (await inject('POST', '/admin/intents/labels', { eventId: 'nope', intent: 'refund' })).statusCode,
      ).toBe(404);
    });

    it('turns an approved label into a masked training example the retrained classifier gets right', async () => {
      caller = as('supervisor');
      const labelled = await inject('POST', '/admin/intents/labels', { eventId: 't3', intent: 'refund' });
      expect(labelled.statusCode, labelled.body).toBe(201);
      const label = labelled.json();
      expect(label).toMatchObject({
        eventId: 't3',
        predicted: 'order_status',
        intent: 'refund',
        status: 'pending',
      });
      const withPii = (
        await inject('POST', '/admin/intents/labels', { eventId: 't4', intent: 'refund' })
      ).json();

      caller = as('admin');
      const approved = await inject('POST', `/admin/intents/labels/${label.id}/approve`);
      expect(approved.statusCode, approved.body).toBe(200);
      expect(approved.json()).toMatchObject({
        label: { status: 'approved', reviewedBy: 'operator:op-admin' },
      });
      expect((await inject('POST', `/admin/intents/labels/${label.id}/approve`)).statusCode).toBe(409);
      expect((await inject('POST', `/admin/intents/labels/${withPii.id}/approve`)).statusCode).toBe(200);

      // The file holds both examples, the e-mail address masked.
      const file = readFileSync(examplesFile, 'utf8');
      expect(file).not.toContain('bob.jones');
      expect(await loadLearnedExamples(examplesFile)).toEqual({
        refund: [MISCLASSIFIED, 'refund it to <email> please'],
      });
      const merged = await loadIntentConfig(hub);
      expect(merged.intents.find((i) => i.name === 'refund')?.examples).toContain(MISCLASSIFIED);

      // The reload retrains in the background; the classifier then takes the probe for refund.
      await expect
        .poll(async () => (await inject('GET', `/admin/intents?${RANGE}`)).json().classifier.reloadedAt, {
          timeout: 30_000,
        })
        .not.toBeNull();
      expect(classifier.classify(MISCLASSIFIED).label).toBe('refund');

      const overview = (await inject('GET', `/admin/intents?${RANGE}`)).json();
      // Of the two turns labelled refund, one had been left unknown.
      expect(overview.intents.find((i: { intent: string }) => i.intent === 'refund')).toMatchObject({
        labelled: 2,
        unknownRate: 0.5,
      });
      expect(overview.classifier.examples).toBe(20);

      // At rest the example is sealed, bound to its label (hub keys rotate re-wraps it like any other).
      const raw = await store.db
        .selectFrom('intent_labels' as never)
        .select(sql<string>`example`.as('example'))
        .where(sql`id`, '=', label.id)
        .executeTakeFirstOrThrow();
      expect(AtRest.isSealed(raw.example)).toBe(true);
      expect((await rotateDataKeys(store.db, store.atRest)).byKey).toEqual(expect.any(Object));
      expect(await loadLearnedExamples(examplesFile)).toEqual(
        await new IntentReviewStore(store.db).approvedExamples(),
      );

      const trail = await store.auditTrail({ subject: `intent_label:${label.id}` });
      expect(trail.map((r) => r.action)).toEqual(
        expect.arrayContaining(['operator.intent.label', 'operator.intent.label.approve']),
      );
    });

    it('keeps an approved label: relabelling the turn is refused with 409', async () => {
      caller = as('supervisor');
      const again = await inject('POST', '/admin/intents/labels', { eventId: 't3', intent: 'order_status' });
      expect(again.statusCode).toBe(409);
    });
    it('keeps an approval whose examples file cannot be written, and says so with its own code', async () => {
      const unwritable = Fastify();
      unwritable.addHook('onRequest', async (request) => {
        request.caller = caller;
      });
      registerIntentRoutes(unwritable, new IntentReviewStore(store.db), {
        loadIntents: () => loadIntentConfig(hub),
        // A folder that does not exist stands for a read-only config/ (the image's).
        examplesFile: join(dir, 'missing-folder', 'intent-examples.yaml'),
        dataset: 'test config',
        audit: store,
        now: () => T0,
      });
      const send = (url: string, payload?: unknown) =>
        unwritable.inject({
          method: 'POST',
          url,
          remoteAddress: '127.0.0.1',
          headers: { host: 'localhost', ...(payload ? { 'content-type': 'application/json' } : {}) },
          ...(payload ? { payload: JSON.stringify(payload) } : {}),
        });
      caller = as('supervisor');
      const label = (await send('/admin/intents/labels', { eventId: 't1', intent: 'order_status' })).json();
      caller = as('admin');
      const approved = await send(`/admin/intents/labels/${label.id}/approve`);
      expect(approved.statusCode).toBe(500);
      expect(approved.json().error.code).toBe('intents.examples_file_unwritable');
      // Approved and on the audit trail all the same: the next export writes it.
      expect((await send(`/admin/intents/labels/${label.id}/approve`)).statusCode).toBe(409);
      const trail = await store.auditTrail({ subject: `intent_label:${label.id}` });
      expect(trail.map((r) => r.action)).toContain('operator.intent.label.approve');
      expect((await new IntentReviewStore(store.db).approvedExamples()).order_status).toContain(
        'where is my order',
      );
      await unwritable.close();
    });
  });

  describe('POST /admin/intents/evaluations', () => {
    it('runs the cross-validation on the configured examples in the background and keeps its figures', async () => {
      caller = as('supervisor');
      const started = await inject('POST', '/admin/intents/evaluations');
      expect(started.statusCode, started.body).toBe(202);
      const { id } = started.json();
      let evaluation: { id: string; status: string; accuracy: number; macroF1: number } | undefined;
      await expect
        .poll(
          async () => {
            const list = (await inject('GET', `/admin/intents?${RANGE}`)).json().evaluations;
            evaluation = list.find((e: { id: string }) => e.id === id);
            return evaluation?.status;
          },
          { timeout: 60_000 },
        )
        .toBe('done');
      const examples = configExamples(await loadIntentConfig(hub));
      // Computed again outside the route: the same folds (5: the smallest intent has 6), the same figures.
      const report = crossValidate(examples, { folds: 5, seed: 7, classifier: { model: 'linear' } });
      expect(evaluation).toMatchObject({
        source: 'console',
        dataset: 'test config',
        examples: 20,
        labels: 3,
        folds: 5,
        accuracy: report.accuracy,
        macroF1: report.macroF1,
        perIntent: report.perIntent,
        confusions: report.confusions,
        requestedBy: 'operator:op-supervisor',
      });
    });
  });
});
