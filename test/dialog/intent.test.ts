import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../core/config/load';
import { loadDialogConfig } from '../../core/dialog/config';
import { IntentClassifier } from '../../core/dialog/intent/classifier';
import { intentConfigSchema } from '../../core/dialog/intent/config';
import { crossValidate, loadLabelledCsv, macroF1, stratifiedFolds } from '../../core/dialog/intent/eval';
import { IntentRecognizer } from '../../core/dialog/intent/recognizer';
import { IntentRules } from '../../core/dialog/intent/rules';
import { foldForMatching } from '../../core/dialog/preprocess';
import { createLlmClient } from '../../core/llm/client';
import { type OpenAiEmulator, startOpenAiEmulator } from '../emulators/openai-emulator';

const BANKING77 = '../shared/data/banking77/train.csv';

const config = intentConfigSchema.parse({
  intents: [
    {
      name: 'order_status',
      description: 'where an order is, when it arrives',
      keywords: { zh: ['物流', '到哪了'], en: ['where is my order', 'tracking'] },
      patterns: ['\\border status\\b'],
      examples: [
        'where is my parcel',
        'has my package shipped yet',
        '我的快递什么时候到',
        '包裹到哪里了',
        'when will my stuff arrive',
      ],
    },
    {
      name: 'return_request',
      description: 'return or exchange an item',
      keywords: { zh: ['退货', '换货'], en: ['return', 'exchange'] },
      examples: [
        'i want to send this back',
        'can i swap it for a bigger size',
        '这个我不想要了',
        '尺码不合适想换',
        'send the item back please',
      ],
    },
  ],
});
const input = (text: string) => ({ text, folded: foldForMatching(text) });

describe('tier (a): rules', () => {
  const rules = new IntentRules(config);
  it('fires on Chinese substrings and English whole words', () => {
    expect(rules.match(foldForMatching('我的包裹到哪了？'))).toMatchObject([
      { name: 'order_status', confidence: 0.9 },
    ]);
    expect(rules.match(foldForMatching('How do I RETURN this?'))).toMatchObject([{ name: 'return_request' }]);
    expect(rules.match(foldForMatching('returned item arrived'))).toEqual([]); // "return" is not a word here
    expect(rules.match(foldForMatching('Order status please'))).toMatchObject([{ confidence: 0.95 }]);
  });
  it('halves the confidence when two intents are hit', () => {
    const hits = rules.match(foldForMatching('退货的物流信息'));
    expect(hits.map((h) => h.name).sort()).toEqual(['order_status', 'return_request']);
    expect(hits[0]?.confidence).toBe(0.45);
  });
  it('refuses an invalid pattern or a duplicate intent at config load', () => {
    expect(() => intentConfigSchema.parse({ intents: [{ name: 'a', patterns: ['(('] }] })).toThrow(
      /regular expression/,
    );
    expect(() => intentConfigSchema.parse({ intents: [{ name: 'a' }, { name: 'a' }] })).toThrow(
      /defined twice/,
    );
    expect(() => intentConfigSchema.parse({ intents: [{ name: 'unknown' }] })).toThrow(/reserved/);
  });
});

describe('tier (b): classifier', () => {
  it('learns from a few examples and ranks with probabilities', () => {
    const model = IntentClassifier.train(
      config.intents.flatMap((i) => i.examples.map((text) => ({ text, label: i.name }))),
      { minDf: 1 },
    );
    expect(model.classify('when does my parcel arrive').label).toBe('order_status');
    expect(model.classify('想换一个尺码').label).toBe('return_request');
    const { ranking } = model.classify('package');
    expect(ranking.reduce((sum, r) => sum + r.confidence, 0)).toBeCloseTo(1, 5);
  });
  it('is deterministic for a seed', () => {
    const data = config.intents.flatMap((i) => i.examples.map((text) => ({ text, label: i.name })));
    const a = IntentClassifier.train(data, { seed: 3, minDf: 1 }).classify('send it back');
    const b = IntentClassifier.train(data, { seed: 3, minDf: 1 }).classify('send it back');
    expect(a).toEqual(b);
  });
  it('folds are stratified and macro-F1 is computed per label', () => {
    const data = Array.from({ length: 30 }, (_, i) => ({ text: `t${i}`, label: `l${i % 3}` }));
    const folds = stratifiedFolds(data, 5);
    for (let f = 0; f < 5; f++) {
      const labels = data.filter((_, i) => folds[i] === f).map((d) => d.label);
      expect(labels.sort()).toEqual(['l0', 'l0', 'l1', 'l1', 'l2', 'l2']);
    }
    expect(macroF1(['a', 'a', 'b', 'b'], ['a', 'a', 'a', 'b'])).toBeCloseTo((0.8 + 2 / 3) / 2, 6);
  });
  it.skipIf(!existsSync(BANKING77))('reaches a sane accuracy on a BANKING77 subset (2 folds)', async () => {
    const all = await loadLabelledCsv(BANKING77);
    const labels = [...new Set(all.map((e) => e.label))].sort().slice(0, 10);
    const subset = all.filter((e) => labels.includes(e.label));
    const report = crossValidate(subset, { folds: 2, classifier: { epochs: 6 } });
    expect(report.labels).toBe(10);
    expect(report.accuracy).toBeGreaterThan(0.8);
    expect(report.macroF1).toBeGreaterThan(0.8);
    expect(report.latencyUs.p50).toBeLessThan(2000);
  });
});

describe('recognizer tiers', () => {
  let emulator: OpenAiEmulator;
  beforeAll(async () => {
    emulator = await startOpenAiEmulator();
  });
  afterAll(() => emulator.close());
  const llm = () =>
    createLlmClient(
      parseConfig(
        { llm: { enabled: true, baseUrl: emulator.url, apiKey: 'k', maxRetries: 0, timeoutMs: 2000 } },
        {},
      ).llm,
      { retryBaseMs: 1 },
    );

  it('takes a confident rule without asking the classifier or the LLM', async () => {
    emulator.reset();
    const recognizer = IntentRecognizer.create(config, { llm: llm() });
    const result = await recognizer.recognize(input('我的快递到哪了'));
    expect(result).toMatchObject({ name: 'order_status', tier: 'rules' });
    expect(emulator.chatRequests()).toHaveLength(0);
  });

  it('asks the LLM with a JSON schema when the lower tiers are unsure, and takes a confident answer', async () => {
    emulator.reset();
    const strict = intentConfigSchema.parse({ ...config, thresholds: { classifier: 0.99 } });
    emulator.script(JSON.stringify({ intent: 'return_request', confidence: 0.93 }));
    const result = await IntentRecognizer.create(strict, { llm: llm() }).recognize(
      input('this jacket does not fit me'),
    );
    expect(result).toMatchObject({ name: 'return_request', tier: 'llm', confidence: 0.93 });
    const body = emulator.chatRequests()[0] as {
      response_format?: {
        type: string;
        json_schema: { schema: { properties: { intent: { enum: string[] } } } };
      };
    };
    expect(body.response_format?.type).toBe('json_schema');
    expect(body.response_format?.json_schema.schema.properties.intent.enum).toEqual([
      'order_status',
      'return_request',
      'unknown',
    ]);
  });

  it('says unknown, never a forced guess, when every tier is below its threshold', async () => {
    emulator.reset();
    const strict = intentConfigSchema.parse({ ...config, thresholds: { classifier: 0.99 } });
    emulator.script(
      JSON.stringify({ intent: 'order_status', confidence: 0.3 }),
      '{not json',
      JSON.stringify({ intent: 'unknown', confidence: 0.9 }),
    );
    const recognizer = IntentRecognizer.create(strict, { llm: llm() });
    for (let i = 0; i < 3; i++) {
      const result = await recognizer.recognize(input('tell me a joke about penguins'));
      expect(result.name).toBe('unknown');
      expect(result.tier).toBe('none');
    }
  });

  it('survives an LLM failure: the intent is unknown, the turn goes on', async () => {
    emulator.reset();
    emulator.fail({ status: 500 });
    const strict = intentConfigSchema.parse({ ...config, thresholds: { classifier: 0.99 } });
    const result = await IntentRecognizer.create(strict, { llm: llm() }).recognize(input('penguins'));
    expect(result.name).toBe('unknown');
  });

  it('the emulator answers a schema-conforming default and rejects a malformed response_format', async () => {
    emulator.reset();
    const client = llm();
    const result = await client.chat({
      messages: [{ role: 'user', content: 'return_request please' }],
      responseFormat: {
        type: 'json_schema',
        name: 'x',
        schema: {
          type: 'object',
          properties: { intent: { type: 'string', enum: ['order_status', 'return_request'] } },
        },
      },
    });
    expect(JSON.parse(result.text)).toEqual({ intent: 'return_request' });
    const raw = await fetch(`${emulator.url}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer k' },
      body: JSON.stringify({
        model: 'm',
        messages: [],
        response_format: { type: 'json_schema', json_schema: {} },
      }),
    });
    expect(raw.status).toBe(400);
  });

  it('the shipped config/dialog.yaml trains and recognizes both languages', async () => {
    const dialog = await loadDialogConfig('config/dialog.yaml');
    const recognizer = IntentRecognizer.create(dialog.intents);
    expect((await recognizer.recognize(input('where is my order AB12345678'))).name).toBe('order_status');
    expect((await recognizer.recognize(input('我要转人工'))).name).toBe('handoff');
    expect((await recognizer.recognize(input('我想退货'))).name).toBe('return_exchange');
  });
});
