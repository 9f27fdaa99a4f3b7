import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkHubConfig } from '../../app/config-check';
import { loadConfig, parseConfig } from '../../core/config/load';
import { createIndex, createKnowledge } from '../../core/rag/index';
import { OnnxEmbedder, type OnnxEmbedderConfig } from '../../core/rag/onnx-embedder';
import { EmbeddedRetriever } from '../../core/rag/retrievers/embedded';
import type { KnowledgeChunk } from '../../core/types';
import { HubError } from '../../core/types/errors';
import { SPECIAL_TOKENS, writeTinyModel } from '../support/tiny-onnx';

const WORDS = [
  'refund',
  'reimbursement',
  'order',
  'shipping',
  'takes',
  'days',
  'within',
  'of',
  'delivery',
  'policy',
  'times',
  'password',
  'reset',
  'your',
  'from',
  'the',
  'login',
  'page',
  'query',
  'passage',
  ':',
  '退',
  '款',
  '运',
  '费',
  '30',
  '3',
];
const DIMENSIONS = 64;
const CLS = SPECIAL_TOKENS.indexOf('[CLS]');
const SEP = SPECIAL_TOKENS.indexOf('[SEP]');
const id = (word: string) => SPECIAL_TOKENS.length + WORDS.indexOf(word);

let root: string;
let modelDir: string;
let table: number[][];
const open: OnnxEmbedder[] = [];

function embedder(overrides: Partial<OnnxEmbedderConfig> = {}, dir = modelDir): OnnxEmbedder {
  const made = new OnnxEmbedder({
    modelDir: dir,
    pooling: 'mean',
    normalize: true,
    queryPrefix: '',
    passagePrefix: '',
    maxLength: 512,
    batchSize: 32,
    ...overrides,
  });
  open.push(made);
  return made;
}

const dot = (a: number[], b: number[]) => a.reduce((sum, value, i) => sum + value * (b[i] ?? 0), 0);
const norm = (a: number[]) => Math.sqrt(dot(a, a));
const unit = (a: number[]) => a.map((value) => value / norm(a));
const meanOf = (rows: number[]) =>
  Array.from(
    { length: DIMENSIONS },
    (_, d) => rows.reduce((sum, row) => sum + (table[row]?.[d] ?? 0), 0) / rows.length,
  );

function expectClose(actual: number[] | undefined, expected: number[], digits = 5) {
  expect(actual).toHaveLength(expected.length);
  actual?.forEach((value, i) => {
    expect(value).toBeCloseTo(expected[i] ?? Number.NaN, digits);
  });
}

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'hub-onnx-'));
  modelDir = path.join(root, 'tiny');
  ({ table } = await writeTinyModel(modelDir, {
    words: WORDS,
    dimensions: DIMENSIONS,
    sameVector: [['refund', 'reimbursement']],
  }));
});

afterAll(async () => {
  for (const made of open) await made.close();
  await rm(root, { recursive: true, force: true });
});

describe('OnnxEmbedder on a tiny ONNX model built by the test', () => {
  it('gives one normalised vector of the model width per text, read from config.json', async () => {
    const e = embedder();
    expect(e.dimensions).toBe(DIMENSIONS);
    expect(e.name).toBe('onnx:tiny');
    const vectors = await e.embed(['refund order', '退款', 'shipping takes 3 days', '']);
    expect(vectors).toHaveLength(4);
    for (const vector of vectors) {
      expect(vector).toHaveLength(DIMENSIONS);
      expect(norm(vector)).toBeCloseTo(1, 6);
    }
  });

  it('mean pooling averages the real tokens, [CLS] and [SEP] included', async () => {
    const [vector] = await embedder().embed(['Refund ORDER']);
    expectClose(vector, unit(meanOf([CLS, id('refund'), id('order'), SEP])));
    // Chinese characters are tokens of their own, as in BERT-style Chinese tokenizers.
    const [chinese] = await embedder().embed(['退款']);
    expectClose(chinese, unit(meanOf([CLS, id('退'), id('款'), SEP])));
  });

  it('cls pooling takes the first token; normalize: false keeps the raw mean', async () => {
    const [cls] = await embedder({ pooling: 'cls' }).embed(['refund order']);
    expectClose(cls, unit(table[CLS] ?? []));
    const [raw] = await embedder({ normalize: false }).embed(['refund order']);
    expectClose(raw, meanOf([CLS, id('refund'), id('order'), SEP]));
    expect(norm(raw ?? [])).not.toBeCloseTo(1, 2);
  });

  it('texts sharing tokens are closer than unrelated ones', async () => {
    const [refund, refundPolicy, shipping, chineseRefund, chineseFee] = await embedder().embed([
      'refund within 30 days',
      'refund policy',
      'shipping takes 3 days',
      '退款',
      '运费',
    ]);
    const cosine = (a?: number[], b?: number[]) => dot(a ?? [], b ?? []);
    expect(cosine(refund, refundPolicy)).toBeGreaterThan(cosine(refundPolicy, shipping));
    expect(cosine(chineseRefund, refundPolicy)).toBeLessThan(cosine(refund, refundPolicy));
    expect(cosine(chineseRefund, chineseRefund)).toBeCloseTo(1, 6);
    expect(cosine(chineseRefund, chineseFee)).toBeLessThan(0.99);
  });

  it('padding does not change a vector: a short text batched with a long one equals it alone', async () => {
    const e = embedder();
    const [alone] = await e.embed(['refund']);
    const [padded] = await e.embed(['refund', 'reset your password from the login page within 3 days']);
    expectClose(padded, alone ?? [], 6);
  });

  it('batches give the same vectors as one text at a time, in order', async () => {
    const texts = ['refund', 'shipping takes 3 days', '退款', 'reset your password', 'the login page'];
    const batched = await embedder({ batchSize: 2 }).embed(texts);
    const e = embedder({ batchSize: 1 });
    const single = await Promise.all(texts.map(async (text) => (await e.embed([text]))[0] ?? []));
    expect(batched).toHaveLength(texts.length);
    batched.forEach((vector, i) => {
      expectClose(vector, single[i] ?? [], 6);
    });
  });

  it('puts the query and passage prefixes before each text by kind', async () => {
    const e = embedder({ queryPrefix: 'query: ', passagePrefix: 'passage: ' });
    const plain = embedder();
    const [asQuery] = await e.embed(['refund'], 'query');
    const [asPassage] = await e.embed(['refund']);
    expectClose(asQuery, (await plain.embed(['query: refund']))[0] ?? [], 6);
    expectClose(asPassage, (await plain.embed(['passage: refund']))[0] ?? [], 6);
    expect(dot(asQuery ?? [], asPassage ?? [])).toBeLessThan(0.999);
  });

  it('cuts a text to maxLength tokens and keeps the closing [SEP]', async () => {
    const [cut] = await embedder({ maxLength: 4 }).embed(['refund order shipping days']);
    expectClose(cut, unit(meanOf([CLS, id('refund'), id('order'), SEP])));
  });

  it('feeds token_type_ids to a model that takes them', async () => {
    const dir = path.join(root, 'with-token-types');
    await writeTinyModel(dir, { words: WORDS, dimensions: 8, tokenTypeIds: true, modelFile: 'model.onnx' });
    const [vector] = await embedder({}, dir).embed(['refund order']);
    expect(vector).toHaveLength(8);
    expect(norm(vector ?? [])).toBeCloseTo(1, 6);
  });
});

describe('knowledge.embedder configuration', () => {
  const errorOf = (make: () => unknown): HubError => {
    try {
      make();
    } catch (error) {
      if (error instanceof HubError) return error;
      throw error;
    }
    throw new Error('expected a HubError');
  };

  it('a missing folder, a folder without tokenizer.json or model, and a config.json without hidden_size fail when made', async () => {
    const missing = errorOf(() => embedder({ modelDir: path.join(root, 'nowhere') }));
    expect(missing.code).toBe('config.invalid');
    expect(missing.message).toMatch(
      /knowledge\.embedder\.modelDir: .*nowhere is not a folder.*hub models pull/,
    );

    const empty = path.join(root, 'empty');
    await mkdir(empty, { recursive: true });
    expect(errorOf(() => embedder({ modelDir: empty })).message).toMatch(
      /has no onnx\/model\.onnx or model\.onnx/,
    );

    const noTokenizer = path.join(root, 'no-tokenizer');
    await mkdir(path.join(noTokenizer, 'onnx'), { recursive: true });
    await writeFile(path.join(noTokenizer, 'onnx', 'model.onnx'), 'x');
    expect(errorOf(() => embedder({ modelDir: noTokenizer })).message).toMatch(/has no tokenizer\.json/);

    const noWidth = path.join(root, 'no-width');
    await writeTinyModel(noWidth, { words: WORDS });
    await writeFile(path.join(noWidth, 'config.json'), '{"model_type":"bert"}');
    expect(errorOf(() => embedder({ modelDir: noWidth })).message).toMatch(/config\.json has no hidden_size/);
  });

  it('a file that is not an ONNX model fails at the first embed with how to fix it', async () => {
    const broken = path.join(root, 'broken');
    await writeTinyModel(broken, { words: WORDS });
    await writeFile(path.join(broken, 'onnx', 'model.onnx'), 'not a model');
    await expect(embedder({ modelDir: broken }).embed(['refund'])).rejects.toMatchObject({
      code: 'config.invalid',
      message: expect.stringMatching(/onnxruntime cannot load .*model\.onnx.*hub models pull/),
    });
  });

  it('the schema takes its options with defaults, rejects unknown keys and the embeddings server beside it', () => {
    const config = parseConfig({ knowledge: { embedder: { modelDir: 'm' } } }, {});
    expect(config.knowledge.embedder).toEqual({
      modelDir: 'm',
      pooling: 'mean',
      normalize: true,
      queryPrefix: '',
      passagePrefix: '',
      maxLength: 512,
      batchSize: 32,
    });
    expect(() => parseConfig({ knowledge: { embedder: { modelDir: 'm', pooling: 'max' } } }, {})).toThrow(
      /knowledge\.embedder\.pooling/,
    );
    expect(() => parseConfig({ knowledge: { embedder: { modelDir: 'm', prefix: 'x' } } }, {})).toThrow(
      /knowledge\.embedder\.prefix: unknown key/,
    );
    expect(() =>
      parseConfig({ knowledge: { embedder: { modelDir: 'm' }, embeddings: { baseUrl: 'http://x' } } }, {}),
    ).toThrow(/either knowledge\.embeddings .* or knowledge\.embedder/);
  });

  it('hub validate and start-up name a wrong modelDir with the other config errors', async () => {
    const file = path.join(root, 'hub.yaml');
    await writeFile(file, `knowledge:\n  embedder:\n    modelDir: ${path.join(root, 'nowhere')}\n`);
    await expect(loadConfig(file, {}, checkHubConfig)).rejects.toMatchObject({
      code: 'config.invalid',
      message: expect.stringMatching(/knowledge\.embedder\.modelDir: .*nowhere is not a folder/),
    });
    await writeFile(file, `knowledge:\n  embedder:\n    modelDir: ${modelDir}\n`);
    await expect(loadConfig(file, {}, checkHubConfig)).resolves.toBeDefined();
  });

  it('start-up with a wrong modelDir stops with the config error', async () => {
    const config = parseConfig(
      { knowledge: { dir: root, storeDir: path.join(root, 'store'), embedder: { modelDir: 'nowhere' } } },
      {},
    );
    await expect(createKnowledge(config, { cwd: root, watchMs: 0 })).rejects.toMatchObject({
      code: 'config.invalid',
      message: expect.stringContaining(path.join(root, 'nowhere')),
    });
  });
});

describe('the embedded retriever with the ONNX embedder', () => {
  const chunk = (id: string, title: string, text: string): KnowledgeChunk => ({
    id,
    docId: id,
    title,
    text,
    language: 'en',
    source: `${id}.md`,
    tags: [],
  });
  const chunks = [
    chunk('refund', 'Refund policy', 'refund within 30 days of delivery'),
    chunk('shipping', 'Shipping times', 'shipping takes 3 days'),
    chunk('password', 'Password reset', 'reset your password from the login page'),
  ];

  it('ranks the matching chunk first, by words and by meaning alone', async () => {
    const retriever = new EmbeddedRetriever({ embedder: embedder() });
    await retriever.index(chunks);
    expect((await retriever.search('shipping days', { k: 3 }))[0]?.id).toBe('shipping');
    // No chunk has the word "reimbursement"; only the model knows it means "refund".
    const [best] = await retriever.search('reimbursement', { k: 3 });
    expect(best?.id).toBe('refund');
  });

  it('is what a config with knowledge.embedder.modelDir builds (modelDir relative to cwd)', async () => {
    const config = parseConfig({ knowledge: { embedder: { modelDir: 'tiny' } } }, {});
    const index = await createIndex(config, { cwd: root });
    await index.replaceAll(chunks);
    expect((await index.search('reimbursement', { k: 3 }))[0]?.id).toBe('refund');
    await index.close();
    // The default lexical index cannot see that meaning: no word of the question is in any chunk,
    // so nothing scores above zero (what it returns is unranked noise under any threshold).
    const lexical = await createIndex(parseConfig({}, {}), { cwd: root });
    await lexical.replaceAll(chunks);
    const [lexicalBest] = await lexical.search('reimbursement', { k: 3 });
    expect(lexicalBest?.score ?? 0).toBeLessThanOrEqual(0);
  });
});
