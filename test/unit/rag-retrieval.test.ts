import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, parseConfig } from '../../core/config/load';
import { auroc, chooseThreshold, confidenceOf, outcomeAt } from '../../core/rag/calibration';
import { evalRows, readLabelled, runQueries } from '../../core/rag/eval';
import { type AnsweringRetriever, createKnowledge, type Knowledge } from '../../core/rag/index';
import { parseKnowledgeFile } from '../../core/rag/load';
import { EmbeddedRetriever } from '../../core/rag/retrievers/embedded';
import { editDistance, SpellingVocabulary } from '../../core/rag/spelling';
import { Synonyms } from '../../core/rag/synonyms';
import type { Passage } from '../../core/types';
import { HubError } from '../../core/types/errors';

/** The questions of "Answers customers can trust": each gets its entry first, or a refusal, never another entry. */
const EXAMPLES: [string, string, string][] = [
  ['Can I pay with PayPal?', 'en', 'en-payments#payment-methods'],
  ['how do i get a refnud', 'en', 'en-refunds'],
  ['Do you ship to the US?', 'en', 'en-shipping#international-shipping'],
  ['What is your phone number?', 'en', 'en-support#phone-and-email'],
  ['what about returns?', 'en', 'en-returns#return-policy'],
  ['能用PayPal付款吗', 'zh', 'zh-payments#payment-methods'],
  ['退款怎么弄', 'zh', 'zh-refunds'],
  ['你们发货到美国吗', 'zh', 'zh-shipping#international-shipping'],
  ['你们电话多少', 'zh', 'zh-support#phone-and-email'],
  ['那退货呢？', 'zh', 'zh-returns#return-policy'],
  ['钱啥时候退回来', 'zh', 'zh-refunds#refund-timeline'],
  ['能不能开专票', 'zh', 'zh-invoices#special-vat-invoice'],
];
const UNANSWERABLE: [string, string][] = [
  ['Do you sell cars?', 'en'],
  ["what's the weather tomorrow", 'en'],
  ['你们卖汽车吗', 'zh'],
  ['明天天气怎么样', 'zh'],
];
const answers = (passage: Passage | undefined, expected: string) =>
  passage?.id === expected || passage?.docId === expected;

describe('retrieval on the demo knowledge base', () => {
  const setups: Record<string, Knowledge> = {};

  beforeAll(async () => {
    setups.defaults = await createKnowledge(parseConfig({}, {}), { watchMs: 0 });
    // The shipped config adds the demo synonyms (PayPal → payment methods, the US → abroad).
    setups['config/hub.yaml'] = await createKnowledge(await loadConfig('config/hub.yaml', {}), {
      watchMs: 0,
    });
  });

  for (const setup of ['defaults', 'config/hub.yaml']) {
    it.each(EXAMPLES)(`${setup}: %s (%s) → %s or a refusal`, async (question, language, expected) => {
      const passages = await setups[setup]?.retriever.search(question, { k: 3, language });
      if (passages?.length)
        expect(passages[0]?.id).toSatisfy((id: string) => answers(passages[0], expected) || id === expected);
    });

    it.each(UNANSWERABLE)(`${setup}: refuses %s`, async (question, language) => {
      expect(await setups[setup]?.retriever.search(question, { k: 3, language })).toEqual([]);
    });
  }

  it('answers every example right with the shipped config, none with a wrong entry', async () => {
    const knowledge = setups['config/hub.yaml'] as Knowledge;
    let answered = 0;
    for (const [question, language, expected] of EXAMPLES) {
      const passages = await knowledge.retriever.search(question, { k: 3, language });
      if (passages.length) answered++;
      if (passages.length) expect(answers(passages[0], expected)).toBe(true);
    }
    // The synonyms make PayPal and the US findable; a few short follow-ups may still be refused.
    expect(answered).toBeGreaterThanOrEqual(EXAMPLES.length - 3);
    for (const question of ['Can I pay with PayPal?', 'Do you ship to the US?', '能用PayPal付款吗']) {
      expect(await knowledge.retriever.search(question, { k: 1 })).not.toEqual([]);
    }
  });

  it('keeps the answers the hub end-to-end tests expect', async () => {
    const knowledge = setups.defaults as Knowledge;
    expect(
      (await knowledge.retriever.search('How long does shipping take?', { k: 1, language: 'en' }))[0]?.id,
    ).toBe('en-shipping#delivery-times');
    expect((await knowledge.retriever.search('怎么退货？', { k: 1, language: 'zh' }))[0]?.id).toBe(
      'zh-returns#how-to-return',
    );
  });

  it('calibrates the threshold on the labelled tuning rows at load', () => {
    const knowledge = setups.defaults as Knowledge;
    expect(knowledge.calibration).toMatchObject({
      measure: 'score',
      source: expect.stringMatching(/set=tuning/),
    });
    expect(knowledge.calibration?.precision).toBeGreaterThanOrEqual(0.9);
    expect((knowledge.retriever as AnsweringRetriever).minScore).toBe(knowledge.calibration?.threshold);
  });

  it('meets the aims on the held-out customer-worded queries: ≤ 10 % wrong, ≤ 20 % refused', async () => {
    const knowledge = setups.defaults as Knowledge;
    const answering = knowledge.retriever as AnsweringRetriever;
    const queries = (await readLabelled('knowledge/eval/labelled.jsonl')).filter(
      (q) => q.style === 'customer' && q.set === 'held-out',
    );
    const outcomes = await runQueries(answering.withMinScore(0), queries);
    const row = evalRows(outcomes, { threshold: answering.minScore }).find((r) => r.label === 'all');
    expect(row?.queries).toBeGreaterThan(100);
    expect((row?.wrong ?? 1) / (row?.queries ?? 1)).toBeLessThanOrEqual(0.1);
    expect((row?.refused ?? 1) / (row?.queries ?? 1)).toBeLessThanOrEqual(0.2);
    expect((row?.refusedUnanswerable ?? 0) / (row?.unanswerable ?? 1)).toBeGreaterThanOrEqual(0.8);
  });
});

describe('calibration', () => {
  it('measures confidence from the ranked scores', () => {
    const ranked = [{ score: 0.6 }, { score: 0.45 }];
    expect(confidenceOf(ranked, 'score')).toBe(0.6);
    expect(confidenceOf(ranked, 'margin')).toBeCloseTo(0.15);
    expect(confidenceOf(ranked, 'ratio')).toBeCloseTo(0.25);
    expect(confidenceOf([], 'score')).toBe(0);
    expect(confidenceOf([{ score: 0.3 }], 'margin')).toBe(0.3);
  });

  it('computes AUROC: 1 when separated, 0.5 for ties, the pair share in between', () => {
    const s = (confidence: number, correct: boolean) => ({ confidence, correct });
    expect(auroc([s(0.9, true), s(0.8, true), s(0.2, false), s(0.1, false)])).toBe(1);
    expect(auroc([s(0.5, true), s(0.5, false)])).toBe(0.5);
    // Pairs (right, wrong): (0.9,0.7) (0.9,0.3) (0.6,0.7) (0.6,0.3) → 3 of 4.
    expect(auroc([s(0.9, true), s(0.6, true), s(0.7, false), s(0.3, false)])).toBe(0.75);
    expect(auroc([s(0.9, true)])).toBeNaN();
  });

  it('chooses the lowest threshold that keeps the answered ones at the wanted precision', () => {
    // Synthetic: 100 right answers scoring 0.40–0.89, 40 wrong ones 0.10–0.49 (overlap at 0.40–0.49).
    const samples = [
      ...Array.from({ length: 100 }, (_, i) => ({ confidence: 0.4 + i * 0.005, correct: true })),
      ...Array.from({ length: 40 }, (_, i) => ({ confidence: 0.1 + i * 0.01, correct: false })),
    ];
    const chosen = chooseThreshold(samples, 0.95);
    expect(chosen.precision).toBeGreaterThanOrEqual(0.95);
    // One step lower would answer more wrong ones than 95 % precision allows.
    const lower = Math.max(...samples.map((x) => x.confidence).filter((c) => c < chosen.threshold));
    expect(outcomeAt(samples, lower).precision).toBeLessThan(0.95);
    expect(chosen.threshold).toBeGreaterThan(0.4);
    expect(chosen.threshold).toBeLessThan(0.5);
    expect(chooseThreshold(samples, 0.5).threshold).toBeLessThan(chosen.threshold);
    expect(chooseThreshold(samples, 1).threshold).toBeCloseTo(0.495);
    // Nothing reaches the target: the best precision available.
    const hopeless = [
      { confidence: 0.9, correct: false },
      { confidence: 0.5, correct: true },
      { confidence: 0.1, correct: false },
    ];
    expect(chooseThreshold(hopeless, 0.9)).toMatchObject({ threshold: 0.5, precision: 0.5 });
  });

  it("falls back to the entries' alternative questions when there is no labelled set", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'kb-cal-'));
    try {
      const entries = Array.from({ length: 24 }, (_, i) => {
        const topic = `topic${String.fromCharCode(97 + i)}x`;
        return `## How does ${topic} work? {#t${i}}\n\n${topic} works with the ${topic} module and nothing else.\n\nAlso asked:\n- tell me about ${topic}\n`;
      });
      await writeFile(path.join(dir, 'faq.md'), `---\nid: faq\nlanguage: en\n---\n\n${entries.join('\n')}`);
      const knowledge = await createKnowledge(parseConfig({ knowledge: { dir } }, {}), { watchMs: 0 });
      expect(knowledge.calibration).toMatchObject({ source: 'alternatives', samples: 24 });
      expect((await knowledge.retriever.search('tell me about topicgx', { k: 1 }))[0]?.id).toBe('faq#t6');
      await knowledge.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('alternative questions in the knowledge files', () => {
  const FILE = `---
id: pay
language: en
---

## Which payment methods do you accept? {#methods}

Alipay, WeChat Pay and cards.

Also asked:
- Can I pay with PayPal?
- Do you take Visa?

## Can I pay in instalments? {#instalments}

Yes, with Huabei.

\`\`\`
Also asked:
- inside code, text
\`\`\`
`;

  it("parses an Also asked: list into the entry's questions and keeps it out of the answer text", () => {
    const [methods, instalments] = parseKnowledgeFile(FILE, 'en/pay.md');
    expect(methods).toMatchObject({
      id: 'pay#methods',
      text: 'Alipay, WeChat Pay and cards.',
      questions: ['Can I pay with PayPal?', 'Do you take Visa?'],
    });
    expect(instalments?.questions).toBeUndefined();
    expect(instalments?.text).toContain('inside code, text');
    const zh = parseKnowledgeFile(
      '## 支持哪些付款方式？ {#m}\n\n支付宝。\n\n其他问法：\n- 能刷卡吗\n',
      'zh/pay.md',
    );
    expect(zh[0]).toMatchObject({ text: '支付宝。', questions: ['能刷卡吗'] });
  });

  it('refuses a label without a list, naming the file and line', () => {
    let error: unknown;
    try {
      parseKnowledgeFile('## A {#a}\n\nText.\n\nAlso asked:\nnot a list\n', 'en/a.md');
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(HubError);
    expect((error as HubError).code).toBe('knowledge.also_asked');
    expect((error as HubError).message).toMatch(/^en\/a\.md:5: "Also asked:" must be followed by a list/);
  });

  it('every demo entry lists alternatives, and they are searched', async () => {
    const knowledge = await createKnowledge(parseConfig({}, {}), { watchMs: 0 });
    expect(knowledge.chunks.every((c) => (c.questions?.length ?? 0) >= 2)).toBe(true);
    const off = new EmbeddedRetriever({ features: { alternatives: false } });
    const on = new EmbeddedRetriever();
    await off.replaceAll(knowledge.chunks);
    await on.replaceAll(knowledge.chunks);
    const question = 'Are returns free?'; // an alternative of en-returns#return-shipping-cost
    expect((await on.search(question, { k: 1, language: 'en' }))[0]?.id).toBe(
      'en-returns#return-shipping-cost',
    );
    expect((await off.search(question, { k: 1, language: 'en' }))[0]?.id).not.toBe(
      'en-returns#return-shipping-cost',
    );
    await knowledge.close();
  });
});

describe('synonyms', () => {
  it('are validated in the config: lists, or words with a tenant; unknown keys rejected', () => {
    const config = parseConfig(
      {
        knowledge: {
          synonyms: [['paypal', 'payment methods'], { tenant: 'acme', words: ['ute', 'pickup truck'] }],
        },
      },
      {},
    );
    expect(config.knowledge.synonyms).toHaveLength(2);
    expect(() => parseConfig({ knowledge: { synonyms: [['alone']] } }, {})).toThrow();
    expect(() =>
      parseConfig({ knowledge: { synonyms: [{ words: ['a', 'b'], tenants: 'x' }] } }, {}),
    ).toThrow();
    expect(parseConfig({}, {}).knowledge.synonyms).toEqual([]);
  });

  it('expand a question with the other members of a group, whole Latin words only, per tenant', () => {
    const synonyms = new Synonyms([
      { words: ['PayPal', 'payment methods', '付款方式'] },
      { words: ['ute', 'pickup truck'], tenant: 'acme' },
    ]);
    expect(synonyms.expand('Can I pay with PayPal?')).toBe('Can I pay with PayPal? payment methods 付款方式');
    expect(synonyms.expand('能用PayPal付款吗')).toContain('payment methods');
    expect(synonyms.expand('can I pay')).toBe('can I pay');
    expect(synonyms.expand('do you deliver a ute', 'acme')).toBe('do you deliver a ute pickup truck');
    expect(synonyms.expand('do you deliver a ute', 'other')).toBe('do you deliver a ute');
    expect(synonyms.expand('computer')).toBe('computer');
  });

  it('reach the right entry through the hub config', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'kb-syn-'));
    try {
      await writeFile(
        path.join(dir, 'a.md'),
        '## Which payment methods do you accept? {#m}\n\nAlipay and cards.\n',
      );
      await writeFile(
        path.join(dir, 'b.md'),
        '## Who pays for return shipping? {#r}\n\nWe pay for returns.\n',
      );
      const make = (synonyms: string[][]) =>
        createKnowledge(parseConfig({ knowledge: { dir, minScore: 0, synonyms } }, {}), { watchMs: 0 });
      const plain = await make([]);
      const withSynonyms = await make([['paypal', 'payment methods']]);
      expect((await withSynonyms.retriever.search('Can I pay with PayPal?', { k: 1 }))[0]?.id).toBe('a#m');
      expect((await plain.retriever.search('Can I pay with PayPal?', { k: 1 }))[0]?.id).not.toBe('a#m');
      await plain.close();
      await withSynonyms.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('misspellings', () => {
  it('corrects an unknown word to the nearest known one, swaps of neighbours included', () => {
    expect(editDistance('refnud', 'refund', 2)).toBe(1);
    expect(editDistance('acount', 'account', 2)).toBe(1);
    expect(editDistance('cat', 'dog', 1)).toBe(2);
    const vocabulary = new SpellingVocabulary([
      'How long does a refund take?',
      'Create an account',
      'refund refund',
    ]);
    expect(vocabulary.correct('how do i get a refnud')).toBe('how do i get a refund');
    expect(vocabulary.correct('my acount')).toBe('my account');
    expect(vocabulary.correct('weather tomorrow')).toBe('weather tomorrow');
  });
});

describe('answer/refuse figures', () => {
  it('counts refused, wrong and refused-unanswerable at the threshold, with precision and coverage', () => {
    const passage = (id: string, score: number) => ({ id, docId: id.split('#')[0] ?? id, score }) as Passage;
    const outcome = (relevant: string[], top: Passage, rank: number) => ({
      query: { query: 'q', relevant, answerable: relevant.length > 0, language: 'en' },
      passages: [top],
      rank,
    });
    const rows = evalRows(
      [
        outcome(['a#1'], passage('a#1', 0.9), 0), // answered right
        outcome(['a#2'], passage('b#1', 0.8), -1), // answered wrong
        outcome(['a#3'], passage('a#3', 0.2), 0), // refused (right passage, low confidence)
        outcome([], passage('c#1', 0.1), -1), // unanswerable, refused
        outcome([], passage('c#2', 0.7), -1), // unanswerable, answered
      ],
      { threshold: 0.5 },
    );
    const all = rows.find((r) => r.label === 'all');
    expect(all).toMatchObject({ queries: 3, unanswerable: 2, refused: 1, wrong: 1, refusedUnanswerable: 1 });
    expect(all?.precision).toBeCloseTo(1 / 3);
    expect(all?.coverage).toBeCloseTo(2 / 3);
    // Right answers score 0.9 and 0.2; wrong or unanswerable 0.8, 0.1, 0.7: 4 of 6 pairs ordered.
    expect(all?.auroc).toBeCloseTo(4 / 6);
  });
});

describe('labelled queries', () => {
  it('reads unanswerable rows and refuses a row that is neither', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'kb-eval-'));
    try {
      const file = path.join(dir, 'l.jsonl');
      await writeFile(
        file,
        '{"query":"a","relevant":["x#a"]}\n{"query":"cars?","relevant":[],"answerable":false,"set":"tuning"}\n',
      );
      expect((await readLabelled(file)).map((q) => q.answerable)).toEqual([true, false]);
      await writeFile(file, '{"query":"b","relevant":[]}\n');
      await expect(readLabelled(file)).rejects.toThrow(/answerable": false/);
      await writeFile(file, '{"query":"b","relevant":["x"],"answerable":false}\n');
      await expect(readLabelled(file)).rejects.toThrow(/l\.jsonl:1/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("the shipped set: 400+ queries, half of each language, most in customers' words, a tuning/held-out split", async () => {
    const queries = await readLabelled('knowledge/eval/labelled.jsonl');
    expect(queries.length).toBeGreaterThanOrEqual(400);
    const zh = queries.filter((q) => q.language === 'zh').length;
    expect(Math.abs(zh - queries.length / 2)).toBeLessThanOrEqual(queries.length * 0.05);
    expect(queries.filter((q) => q.style === 'customer').length).toBeGreaterThanOrEqual(queries.length / 2);
    expect(queries.filter((q) => q.answerable === false).length).toBeGreaterThanOrEqual(40);
    expect(new Set(queries.map((q) => q.set))).toEqual(new Set(['tuning', 'held-out']));
  });
});
