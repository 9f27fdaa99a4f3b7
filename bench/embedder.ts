/**
 * `npm run bench:embedder [-- --model-dir DIR --pooling mean|cls --runs N --threads N]`: latency of
 * the in-process ONNX embedder (core/rag/onnx-embedder.ts) on the CPU, beside the hashed embedder
 * measured in the same run. Without --model-dir it builds the TINY TEST MODEL of
 * test/support/tiny-onnx.ts (a 64-wide embedding lookup, no transformer layers): its figures are the
 * fixed cost of the code path (tokenizer, tensors, onnxruntime call, pooling), not what a real model
 * costs. Point --model-dir at a pulled model (`hub models pull`) for that.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Embedder } from '../core/rag/embedder';
import { HashEmbedder } from '../core/rag/hash-embedder';
import { OnnxEmbedder } from '../core/rag/onnx-embedder';
import { writeTinyModel } from '../test/support/tiny-onnx';

const { values } = parseArgs({
  options: {
    'model-dir': { type: 'string' },
    pooling: { type: 'string', default: 'mean' },
    runs: { type: 'string', default: '300' },
    threads: { type: 'string' },
  },
});
const runs = Number(values.runs);

const QUESTIONS = [
  '我的订单什么时候发货？',
  'How do I get a refund for a damaged item?',
  '退款多久能到账',
  'Can I change the delivery address after ordering?',
  '会员积分怎么兑换优惠券',
  'I forgot my password and cannot log in',
];
const PASSAGE =
  '退货与退款：签收后 7 天内可申请无理由退货，商品需保持完好。Refunds go back to the original payment method within 3-5 business days after the return is received.';

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;

async function latencies(embedder: Embedder, texts: () => string[], count: number): Promise<number[]> {
  for (let i = 0; i < 20; i++) await embedder.embed(texts(), 'query');
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const start = process.hrtime.bigint();
    await embedder.embed(texts(), 'query');
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return times.sort((a, b) => a - b);
}

const WORDS = [
  ...new Set(
    [...QUESTIONS, PASSAGE]
      .join(' ')
      .toLowerCase()
      .split(/[\s\p{P}]+|(?=\p{Script=Han})|(?<=\p{Script=Han})/u)
      .filter(Boolean),
  ),
];

const temp = values['model-dir'] ? undefined : await mkdtemp(path.join(tmpdir(), 'hub-bench-embedder-'));
const modelDir = values['model-dir'] ?? path.join(temp ?? '', 'tiny');
if (temp) await writeTinyModel(modelDir, { words: WORDS, dimensions: 64 });
const label = temp ? 'TINY TEST MODEL (64-wide lookup, no transformer layers)' : modelDir;

const rssBefore = process.memoryUsage().rss;
const onnx = new OnnxEmbedder({
  modelDir,
  pooling: values.pooling === 'cls' ? 'cls' : 'mean',
  normalize: true,
  queryPrefix: '',
  passagePrefix: '',
  maxLength: 512,
  batchSize: 32,
  ...(values.threads ? { threads: Number(values.threads) } : {}),
});
const loadStart = process.hrtime.bigint();
await onnx.embed(['warm-up']);
const loadMs = Number(process.hrtime.bigint() - loadStart) / 1e6;
const rssLoaded = process.memoryUsage().rss;
const hashed = new HashEmbedder(512);

let q = 0;
const oneQuestion = () => [QUESTIONS[q++ % QUESTIONS.length] ?? ''];
const batch = () => Array.from({ length: 32 }, () => PASSAGE);

const rows: [string, number[], number[]][] = [
  ['1 question', await latencies(onnx, oneQuestion, runs), await latencies(hashed, oneQuestion, runs)],
  [
    '32 passages',
    await latencies(onnx, batch, Math.max(10, Math.floor(runs / 10))),
    await latencies(hashed, batch, Math.max(10, Math.floor(runs / 10))),
  ],
];

console.log(`ONNX embedder: ${label}`);
console.log(
  `  dimensions ${onnx.dimensions}; first embed (load) ${loadMs.toFixed(0)} ms; RSS +${((rssLoaded - rssBefore) / 2 ** 20).toFixed(0)} MiB`,
);
console.log('  workload       onnx p50 / p99 ms    hashed p50 / p99 ms    p50 ratio onnx/hashed');
for (const [name, o, h] of rows) {
  const fmt = (s: number[]) => `${percentile(s, 50).toFixed(3)} / ${percentile(s, 99).toFixed(3)}`;
  console.log(
    `  ${name.padEnd(13)}  ${fmt(o).padEnd(19)}  ${fmt(h).padEnd(21)}  ${(percentile(o, 50) / percentile(h, 50)).toFixed(1)}x`,
  );
}
await onnx.close();
if (temp) await rm(temp, { recursive: true, force: true });
