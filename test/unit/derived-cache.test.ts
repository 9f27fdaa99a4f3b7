import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { canonicalJson, DerivedCache } from '../../core/cache/derived';
import { parseConfig } from '../../core/config/load';
import { intentConfigSchema } from '../../core/dialog/intent/config';
import { IntentRecognizer } from '../../core/dialog/intent/recognizer';
import { releaseTokenizer, tokenizerLoaded } from '../../core/llm/tokenizer';
import { logger } from '../../core/log';
import { createKnowledge } from '../../core/rag/index';
import { loadKnowledge } from '../../core/rag/load';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'derived-cache-'));
});
afterEach(async () => {
  vi.restoreAllMocks();
  await rm(dir, { recursive: true, force: true });
});

/** Messages the hub logged while `run` ran, at info and warn. */
async function logged<T>(run: () => Promise<T> | T): Promise<{ result: T; info: string[]; warn: string[] }> {
  const info: string[] = [];
  const warn: string[] = [];
  const text = (args: unknown[]) => String(typeof args[0] === 'string' ? args[0] : args[1]);
  vi.spyOn(logger, 'info').mockImplementation((...args: unknown[]) => void info.push(text(args)));
  vi.spyOn(logger, 'warn').mockImplementation((...args: unknown[]) => void warn.push(text(args)));
  try {
    return { result: await run(), info, warn };
  } finally {
    vi.restoreAllMocks();
  }
}

const numbers = z.array(z.number());

describe('DerivedCache', () => {
  it('computes once per distinct input and reads it back after that', () => {
    const cache = new DerivedCache(path.join(dir, 'cache'));
    const compute = vi.fn(() => [1, 2, 3]);
    expect(cache.through('sum-v1', { a: 1, b: [2] }, numbers, compute)).toEqual({
      value: [1, 2, 3],
      hit: false,
    });
    // The same inputs built in another order: the same entry.
    expect(cache.through('sum-v1', { b: [2], a: 1 }, numbers, compute)).toEqual({
      value: [1, 2, 3],
      hit: true,
    });
    expect(compute).toHaveBeenCalledTimes(1);
    // Any input changed, or the kind's version: computed again.
    expect(cache.through('sum-v1', { a: 1, b: [3] }, numbers, compute).hit).toBe(false);
    expect(cache.through('sum-v2', { a: 1, b: [2] }, numbers, compute).hit).toBe(false);
    expect(compute).toHaveBeenCalledTimes(3);
  });

  it('sorts object keys at every level of the key JSON, never array items', () => {
    expect(canonicalJson({ b: { d: 1, c: 2 }, a: [2, 1] })).toBe('{"a":[2,1],"b":{"c":2,"d":1}}');
  });

  it('recomputes and warns on a corrupt, foreign or misshapen entry, and replaces it', async () => {
    const cache = new DerivedCache(path.join(dir, 'cache'));
    const key = cache.key('sum-v1', { a: 1 });
    const file = path.join(dir, 'cache', 'sum-v1', `${key}.json`);
    cache.write('sum-v1', key, [7]);
    for (const broken of [
      '{"kind":"sum-v1","key":"',
      JSON.stringify({ kind: 'sum-v1', key: 'another', value: [7] }),
      JSON.stringify({ kind: 'sum-v1', key, value: 'not numbers' }),
    ]) {
      await writeFile(file, broken);
      const { result, warn } = await logged(() => cache.through('sum-v1', { a: 1 }, numbers, () => [8]));
      expect(result).toEqual({ value: [8], hit: false });
      expect(warn).toEqual(['cache: entry unusable; computing it again']);
      expect(JSON.parse(await readFile(file, 'utf8')).value).toEqual([8]);
    }
  });

  it.skipIf(process.getuid?.() === 0)('still computes when the folder cannot be written', async () => {
    const root = path.join(dir, 'locked');
    await writeFile(root, '');
    await chmod(root, 0o400);
    const cache = new DerivedCache(path.join(root, 'cache'));
    const { result, warn } = await logged(() => cache.through('sum-v1', {}, numbers, () => [1]));
    expect(result).toEqual({ value: [1], hit: false });
    expect(warn).toHaveLength(1);
  });

  it('still computes when the cache path is a file, warning once per write', async () => {
    const file = path.join(dir, 'not-a-folder');
    await writeFile(file, 'x');
    const cache = new DerivedCache(file);
    const { result, warn } = await logged(() => cache.through('sum-v1', {}, numbers, () => [1]));
    expect(result).toEqual({ value: [1], hit: false });
    expect(warn).toEqual(['cache: cannot keep a derived result; it is computed again at the next start']);
  });

  it('keeps nothing when disabled', () => {
    const cache = DerivedCache.fromConfig(parseConfig({ cache: { enabled: false } }, {}), dir);
    const compute = vi.fn(() => [1]);
    cache.through('sum-v1', {}, numbers, compute);
    cache.through('sum-v1', {}, numbers, compute);
    expect(compute).toHaveBeenCalledTimes(2);
  });

  it('keeps the newest 32 entries of a kind', async () => {
    const cache = new DerivedCache(path.join(dir, 'cache'));
    for (let i = 0; i < 40; i++) cache.through('sum-v1', { i }, numbers, () => [i]);
    expect(await readdir(path.join(dir, 'cache', 'sum-v1'))).toHaveLength(32);
  });
});

/** 24 entries, each with an `Also asked:` question: enough for the threshold to be calibrated on them. */
async function writeKnowledge(
  folder: string,
  topicOf = (i: number) => `topic${String.fromCharCode(97 + i)}x`,
) {
  const entries = Array.from({ length: 24 }, (_, i) => {
    const topic = topicOf(i);
    return `## How does ${topic} work? {#t${i}}\n\n${topic} works with the ${topic} module and nothing else.\n\nAlso asked:\n- tell me about ${topic}\n`;
  });
  await writeFile(path.join(folder, 'faq.md'), `---\nid: faq\nlanguage: en\n---\n\n${entries.join('\n')}`);
}

describe('knowledge start-up from the cache', () => {
  it('calibrates once; the next build with the same documents reads the threshold back', async () => {
    const kb = path.join(dir, 'kb');
    await mkdir(kb);
    await writeKnowledge(kb);
    const config = parseConfig({ knowledge: { dir: kb, storeDir: path.join(dir, 'store') } }, {});
    const build = () => createKnowledge(config, { watchMs: 0, cwd: dir });

    const first = await logged(build);
    expect(first.info).toContain('knowledge: answer threshold calibrated');
    const second = await logged(build);
    expect(second.info).toContain('knowledge: answer threshold from the cache');
    expect(second.result.calibration).toEqual(first.result.calibration);
    expect(second.result.chunks).toEqual(first.result.chunks);
    // The cache lives under cache.dir, relative to the hub's working directory.
    expect((await readdir(path.join(dir, '.hub-data', 'cache'))).sort()).toEqual([
      'knowledge-chunks-v1',
      'knowledge-threshold-v1',
    ]);

    // A damaged entry: calibrated again, with a warning, and the entry written anew.
    const thresholds = path.join(dir, '.hub-data', 'cache', 'knowledge-threshold-v1');
    const [entry] = await readdir(thresholds);
    await writeFile(path.join(thresholds, entry as string), '{"kind":"knowledge-threshold-v1","value":');
    const damaged = await logged(build);
    expect(damaged.warn).toContain('cache: entry unusable; computing it again');
    expect(damaged.info).toContain('knowledge: answer threshold calibrated');
    expect(damaged.result.calibration).toEqual(first.result.calibration);
    const repaired = await logged(build);
    expect(repaired.info).toContain('knowledge: answer threshold from the cache');

    // One document changed: calibrated again, on the new text.
    await writeKnowledge(kb, (i) => (i === 3 ? 'renamedtopic' : `topic${String.fromCharCode(97 + i)}x`));
    const third = await logged(build);
    expect(third.info).toContain('knowledge: answer threshold calibrated');
    expect(third.result.chunks.some((chunk) => chunk.text.includes('renamedtopic'))).toBe(true);
    // A setting the threshold depends on changed: calibrated again.
    const stricter = parseConfig(
      { knowledge: { dir: kb, storeDir: path.join(dir, 'store'), calibration: { precision: 0.99 } } },
      {},
    );
    const fourth = await logged(() => createKnowledge(stricter, { watchMs: 0, cwd: dir }));
    expect(fourth.info).toContain('knowledge: answer threshold calibrated');
    for (const knowledge of [first, second, damaged, repaired, third, fourth]) await knowledge.result.close();
  });

  it('gets unchanged chunks back without loading the Qwen3 tokenizer', async () => {
    await writeKnowledge(dir);
    // Long enough to be split by token count.
    await writeFile(
      path.join(dir, 'long.md'),
      `## Long {#long}\n\n${'All the words of a long answer. '.repeat(400)}\n`,
    );
    const cache = new DerivedCache(path.join(dir, 'cache'));
    const chunked = await loadKnowledge(dir, { cache });
    expect(chunked.filter((chunk) => chunk.docId === 'long').length).toBeGreaterThan(1);
    releaseTokenizer();
    expect(await loadKnowledge(dir, { cache })).toEqual(chunked);
    expect(tokenizerLoaded()).toBe(false);
    // A changed document is chunked again, which counts tokens.
    await writeFile(
      path.join(dir, 'long.md'),
      `## Long {#long}\n\n${'Other words of a long answer. '.repeat(400)}\n`,
    );
    const rechunked = await loadKnowledge(dir, { cache });
    expect(tokenizerLoaded()).toBe(true);
    expect(rechunked.find((chunk) => chunk.docId === 'long')?.text).toMatch(/^Other words/);
  });
});

describe('intent threshold from the cache', () => {
  const intents = (extra = '') =>
    intentConfigSchema.parse({
      calibration: { folds: 2, outOfScope: ['what is the weather', 'tell me a joke'] },
      intents: [
        {
          name: 'order_status',
          examples: [
            'where is my order',
            'order status please',
            'has my parcel shipped',
            `track my package${extra}`,
          ],
        },
        {
          name: 'refund',
          examples: ['i want my money back', 'refund please', 'how do i get a refund', 'return and refund'],
        },
      ],
    });

  it('cross-validates once per set of examples and settings', async () => {
    const cache = new DerivedCache(path.join(dir, 'cache'));
    const first = await logged(() => IntentRecognizer.create(intents(), { cache }));
    expect(first.info.some((line) => line.endsWith('(from the cache)'))).toBe(false);
    expect(first.result.classifierThreshold?.mode).toBe('auto');
    const second = await logged(() => IntentRecognizer.create(intents(), { cache }));
    expect(second.info.some((line) => line.endsWith('(from the cache)'))).toBe(true);
    expect(second.result.classifierThreshold).toEqual(first.result.classifierThreshold);
    // One example changed: cross-validated again.
    const third = await logged(() => IntentRecognizer.create(intents(' now'), { cache }));
    expect(third.info.some((line) => line.endsWith('(from the cache)'))).toBe(false);
  });
});
