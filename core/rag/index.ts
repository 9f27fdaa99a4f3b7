import { access, readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { canonicalJson, DerivedCache, digestOf } from '../cache/derived';
import type { HubConfig } from '../config/schema';
import { logger } from '../log';
import type { KnowledgeChunk, Retriever } from '../types';
import { AnsweringRetriever, RERANK_MIN_SCORE } from './answering-retriever';
import {
  type CalibrationSample,
  type ConfidenceMeasure,
  chooseThreshold,
  confidenceOf as confidenceOfMeasure,
} from './calibration';
import type { Embedder } from './embedder';
import { readLabelled, runQueries, samplesOf } from './eval';
import { KnowledgeStore } from './ingest/store';
import type { KnowledgeIndex } from './knowledge-index';
import { type LoadOptions, loadKnowledge } from './load';
import { createEmbedder } from './openai-embedder';
import { HttpReranker, type Reranker } from './reranker';
import {
  type AnyRetrieverDescriptor,
  type RetrieverContext,
  type RetrieverRegistry,
  retrievers,
} from './retrievers';
import type { KnowledgeSource } from './source';
import { Synonyms } from './synonyms';

export { AnsweringRetriever, RERANK_MIN_SCORE } from './answering-retriever';
export { type ConfidenceMeasure, chooseThreshold } from './calibration';
export type { Embedder, EmbedKind } from './embedder';
export { ANSWER_MIN_SCORE, dontKnow, type ExtractiveAnswer, extractiveAnswer } from './extractive';
export { HashEmbedder } from './hash-embedder';
export type { KnowledgeIndex } from './knowledge-index';
export { detectLanguage } from './language';
export { type LoadOptions, loadKnowledge, parseKnowledgeFile } from './load';
export { inspectModelDir, OnnxEmbedder, type OnnxEmbedderConfig } from './onnx-embedder';
export { createEmbedder, OpenAiEmbedder } from './openai-embedder';
export { buildRagMessages, type RagPrompt, type RagPromptInput } from './prompt';
export { HttpReranker, type Reranker } from './reranker';
export { type RetrieverRegistry, retrievers } from './retrievers';
export { EmbeddedRetriever, type EmbeddedRetrieverOptions } from './retrievers/embedded';
export type { KnowledgeSource } from './source';
export { Synonyms } from './synonyms';

export interface Knowledge {
  /** What the dialog engine searches: index → optional reranker → relevance threshold. Stable across reloads. */
  retriever: Retriever;
  /** The index underneath (embedded or Elasticsearch). */
  index: KnowledgeIndex;
  /** The chunks loaded from `knowledge.dir`, the ingest store and the sources at the last (re)load or refresh. */
  readonly chunks: KnowledgeChunk[];
  /** Read the folder and the store again, swap the index and calibrate again; returns the new chunk count. On error the old index stays. */
  reload(): Promise<number>;
  /** How the answer/refuse threshold was chosen at the last (re)load; undefined: a fixed one. */
  readonly calibration: Calibration | undefined;
  close(): Promise<void>;
}

export interface KnowledgeOptions extends Partial<RetrieverContext>, LoadOptions {
  /** Base for relative `knowledge.dir` and `knowledge.storeDir`; default `process.cwd()`. */
  cwd?: string;
  embedder?: Embedder;
  reranker?: Reranker;
  /** Where `knowledge.retriever` is looked up; default the built-in retrievers. */
  retrievers?: RetrieverRegistry;
  /** How often the embedded hub checks the ingest store, and any hub its sources, for changes (default 2000 ms; 0 = never). */
  watchMs?: number;
  /** More knowledge beside the folder and the ingest store (the entries published from the console). */
  sources?: KnowledgeSource[];
}

/**
 * `knowledge.dir` (Markdown) plus everything `hub kb ingest` stored plus the sources' chunks; a
 * stored chunk wins over one with the same id from the folder, a source's over both.
 */
export async function loadAllChunks(
  config: HubConfig,
  options: KnowledgeOptions = {},
): Promise<KnowledgeChunk[]> {
  return (await loadParts(config, options)).all;
}

async function loadParts(
  config: HubConfig,
  options: KnowledgeOptions,
): Promise<{ all: KnowledgeChunk[]; files: KnowledgeChunk[]; fromSources: KnowledgeChunk[][] }> {
  const cwd = options.cwd ?? process.cwd();
  const fromDir = await loadKnowledge(path.resolve(cwd, config.knowledge.dir), options);
  const { chunks: stored } = await new KnowledgeStore(path.resolve(cwd, config.knowledge.storeDir)).read();
  const byId = new Map(fromDir.map((chunk) => [chunk.id, chunk]));
  for (const chunk of stored) byId.set(chunk.id, chunk);
  const files = [...byId.values()];
  const fromSources: KnowledgeChunk[][] = [];
  for (const source of options.sources ?? []) fromSources.push(await source.chunks());
  for (const chunk of fromSources.flat()) byId.set(chunk.id, chunk);
  return { all: [...byId.values()], files, fromSources };
}

/** The threshold calibration chose, and on what. */
export interface Calibration {
  measure: ConfidenceMeasure;
  threshold: number;
  /** Labelled rows (`labelled <file> set=<set>`) or the entries' alternative questions (`alternatives`). */
  source: string;
  samples: number;
  /** On those samples: share right among answered, share of the right ones answered. */
  precision: number;
  coverage: number;
}

/** `knowledge.synonyms` as the answering retriever uses them. */
export function synonymsOf(config: HubConfig): Synonyms {
  return new Synonyms(
    config.knowledge.synonyms.map((group) => (Array.isArray(group) ? { words: group } : group)),
  );
}

/** The configured index (`knowledge.retriever`), not yet filled. */
export async function createIndex(
  config: HubConfig,
  options: KnowledgeOptions = {},
): Promise<KnowledgeIndex> {
  return (await buildIndex(config, options)).index;
}

async function buildIndex(
  config: HubConfig,
  options: KnowledgeOptions,
): Promise<{ index: KnowledgeIndex; descriptor: AnyRetrieverDescriptor }> {
  const { descriptor, options: retrieverOptions } = (options.retrievers ?? retrievers).resolve(
    config.knowledge,
  );
  const embedder = options.embedder ?? createEmbedder(config.knowledge, options.cwd);
  // The descriptor's own schema produced `retrieverOptions`.
  const index = await descriptor.create(retrieverOptions as never, { ...options, embedder });
  return { index, descriptor };
}

/**
 * The knowledge the hub answers from. An in-process index (embedded): `knowledge.dir` and the
 * ingest store are loaded into memory, and the store is watched so `hub kb ingest` reaches a running
 * hub within seconds. An index that outlives the process (Elasticsearch): served as it is; only
 * when it is empty is it built from the same sources (blue/green), so a fresh cluster answers at once.
 */
export async function createKnowledge(
  config: HubConfig,
  givenOptions: KnowledgeOptions = {},
): Promise<Knowledge> {
  const options: KnowledgeOptions = {
    ...givenOptions,
    cache: givenOptions.cache ?? DerivedCache.fromConfig(config, givenOptions.cwd),
  };
  const { index, descriptor } = await buildIndex(config, options);
  const rerank = config.knowledge.rerank;
  const reranker = options.reranker ?? (rerank ? new HttpReranker(rerank) : undefined);
  const indexMin = descriptor.defaultMinScore;
  const synonyms = synonymsOf(config);
  const retriever = new AnsweringRetriever(index, {
    reranker,
    candidates: rerank?.candidates,
    minScore: config.knowledge.minScore ?? (reranker ? RERANK_MIN_SCORE : indexMin),
    fallbackMinScore: indexMin,
    synonyms,
  });
  let chunks: KnowledgeChunk[] = [];
  // What the folder and the store gave at the last reload, and each source at its last read.
  let files: KnowledgeChunk[] = [];
  let fromSources: KnowledgeChunk[][] = [];
  let calibration: Calibration | undefined;
  const recalibrate = async () => {
    // A fixed threshold, or a reranker (each calibration question would be a rerank call): no calibration.
    if (config.knowledge.minScore !== undefined || reranker || !config.knowledge.calibration.enabled) return;
    calibration = await cachedCalibrate(config, options, retriever, chunks, !index.isBuilt);
    if (calibration) retriever.setThreshold(calibration.threshold, calibration.measure);
  };
  // One change at a time: a reload and a source's refresh never interleave their index writes.
  let queue: Promise<unknown> = Promise.resolve();
  const serially = <T>(work: () => Promise<T>): Promise<T> => {
    const run = queue.then(work, work);
    queue = run.catch(() => undefined);
    return run;
  };
  const reload = () =>
    serially(async () => {
      const loaded = await loadParts(config, options);
      await index.replaceAll(loaded.all);
      chunks = loaded.all;
      files = loaded.files;
      fromSources = loaded.fromSources;
      await recalibrate();
      return loaded.all.length;
    });
  const sources = options.sources ?? [];
  /**
   * A source changed: its new chunks are indexed and those it no longer has removed, in place, so
   * the next search finds them; the threshold stays as calibrated until the next reload.
   */
  const refresh = (which: number) =>
    serially(async () => {
      const source = sources[which] as KnowledgeSource;
      const next = await source.chunks();
      const previous = fromSources[which] ?? [];
      const nextIds = new Set(next.map((c) => c.id));
      const gone = previous.filter((c) => !nextIds.has(c.id)).map((c) => c.id);
      const before = new Map(previous.map((c) => [c.id, canonicalJson(c)]));
      const changed = next.filter((c) => before.get(c.id) !== canonicalJson(c));
      fromSources[which] = next;
      const byId = new Map(files.map((chunk) => [chunk.id, chunk]));
      for (const chunk of fromSources.flat()) byId.set(chunk.id, chunk);
      // A chunk a source no longer has goes back to the folder's version, if the folder has one.
      const restored = gone.flatMap((id) => {
        const chunk = byId.get(id);
        return chunk ? [chunk] : [];
      });
      const removed = gone.filter((id) => !byId.has(id));
      if (removed.length) await index.remove(removed);
      if (changed.length || restored.length) await index.index([...changed, ...restored]);
      chunks = [...byId.values()];
      if (changed.length || gone.length)
        logger.info(
          { source: source.name, indexed: changed.length, removed: gone.length },
          'knowledge source changed; index updated',
        );
    });
  const timers: NodeJS.Timeout[] = [];
  const unsubscribe: Array<() => void> = [];
  const watchMs = options.watchMs ?? 2000;
  if (index.isBuilt) {
    if (!(await index.isBuilt())) await reload();
    else {
      await recalibrate();
      // An index that outlives the process has the folder and the store; the sources are indexed over it.
      for (const which of sources.keys()) await refresh(which);
    }
  } else {
    await reload();
    if (watchMs > 0) timers.push(watchStore(config, options, watchMs, reload));
  }
  for (const [which, source] of sources.entries()) {
    if (watchMs > 0) timers.push(watchSource(source, watchMs, () => refresh(which)));
    if (source.onChange) unsubscribe.push(source.onChange(() => refresh(which)));
  }
  return {
    retriever,
    index,
    get chunks() {
      return chunks;
    },
    get calibration() {
      return calibration;
    },
    reload,
    async close() {
      for (const timer of timers) clearInterval(timer);
      for (const stop of unsubscribe) stop();
      await queue;
      await index.close();
    },
  };
}

/** Fewer samples than this and the descriptor's measured default stays. */
const MIN_CALIBRATION_SAMPLES = 20;

/**
 * Chooses the answer/refuse threshold for this knowledge base (core/rag/calibration.ts): the
 * labelled rows of `knowledge.calibration.set` when a labelled file is there (only rows whose ids
 * this base holds, and unanswerable ones), else, for an in-process index, each entry's `Also asked:`
 * questions searched against a copy of the index built without them, so each one is a paraphrase
 * the index has not seen.
 */
async function calibrate(
  config: HubConfig,
  options: KnowledgeOptions,
  retriever: AnsweringRetriever,
  chunks: KnowledgeChunk[],
  inProcess: boolean,
): Promise<Calibration | undefined> {
  const settings = config.knowledge.calibration;
  const cwd = options.cwd ?? process.cwd();
  const measure = settings.measure;
  const ranking = retriever.withMinScore(0);
  const file = path.resolve(
    cwd,
    settings.labelled ?? path.join(config.knowledge.dir, 'eval', 'labelled.jsonl'),
  );
  let samples: CalibrationSample[] = [];
  let source = '';
  if (
    await access(file).then(
      () => true,
      () => false,
    )
  ) {
    const ids = new Set(chunks.flatMap((c) => [c.id, c.docId]));
    const queries = (await readLabelled(file)).filter(
      (q) => q.set === settings.set && q.relevant.every((id) => ids.has(id.split('~')[0] ?? id)),
    );
    samples = samplesOf(await runQueries(ranking, queries), measure);
    source = `labelled ${path.relative(cwd, file)} set=${settings.set}`;
  }
  if (samples.length < MIN_CALIBRATION_SAMPLES && inProcess) {
    const asked = chunks.flatMap((chunk) => (chunk.questions ?? []).map((question) => ({ chunk, question })));
    if (asked.length >= MIN_CALIBRATION_SAMPLES) {
      const { index: copy } = await buildIndex(config, options);
      try {
        await copy.replaceAll(chunks.map(({ questions: _, ...chunk }) => chunk));
        const unseen = new AnsweringRetriever(copy, { minScore: 0, synonyms: synonymsOf(config) });
        samples = [];
        for (const { chunk, question } of asked) {
          const passages = await unseen.search(question, {
            k: 2,
            language: chunk.language,
            ...(chunk.tenant ? { tenant: chunk.tenant } : {}),
          });
          samples.push({
            confidence: confidenceOfMeasure(passages, measure),
            correct: passages[0]?.id === chunk.id,
          });
        }
        source = 'alternatives';
      } finally {
        await copy.close();
      }
    }
  }
  if (samples.length < MIN_CALIBRATION_SAMPLES) return undefined;
  const chosen = chooseThreshold(samples, settings.precision);
  return {
    measure,
    threshold: chosen.threshold,
    source,
    samples: samples.length,
    precision: chosen.precision,
    coverage: chosen.coverage,
  };
}

/** Bump when the calibration gives another threshold for the same inputs. */
const CALIBRATION_KIND = 'knowledge-threshold-v1';

const cachedCalibration = z.object({
  calibration: z
    .object({
      measure: z.enum(['score', 'margin', 'ratio']),
      threshold: z.number(),
      source: z.string(),
      samples: z.number(),
      precision: z.number(),
      coverage: z.number(),
    })
    .nullable(),
});

/**
 * `calibrate`, kept in the cache under everything its result depends on: the chunks, the labelled
 * file's text, the knowledge settings (secrets left out) and the embedding model. Only an
 * in-process index is cached: an external one (Elasticsearch) may change behind the hub's back.
 */
async function cachedCalibrate(
  config: HubConfig,
  options: KnowledgeOptions,
  retriever: AnsweringRetriever,
  chunks: KnowledgeChunk[],
  inProcess: boolean,
): Promise<Calibration | undefined> {
  const started = performance.now();
  const { cache } = options;
  if (!cache || !inProcess) {
    const result = await calibrate(config, options, retriever, chunks, inProcess);
    if (result) logger.info(result, 'knowledge: answer threshold calibrated');
    return result;
  }
  const cwd = options.cwd ?? process.cwd();
  const settings = config.knowledge.calibration;
  const labelledFile = path.resolve(
    cwd,
    settings.labelled ?? path.join(config.knowledge.dir, 'eval', 'labelled.jsonl'),
  );
  const labelled = await readFile(labelledFile, 'utf8').then(digestOf, () => null);
  const { dir: _dir, storeDir: _storeDir, ...knowledge } = config.knowledge;
  const inputs = {
    chunks: digestOf(canonicalJson(chunks)),
    labelled,
    labelledSource: path.relative(cwd, labelledFile),
    knowledge: withoutSecrets(knowledge),
    model: config.knowledge.embedder
      ? await modelFingerprint(path.resolve(cwd, config.knowledge.embedder.modelDir))
      : null,
    minSamples: MIN_CALIBRATION_SAMPLES,
  };
  const { value, hit } = await cache.throughAsync(CALIBRATION_KIND, inputs, cachedCalibration, async () => ({
    calibration: (await calibrate(config, options, retriever, chunks, inProcess)) ?? null,
  }));
  const result = value.calibration ?? undefined;
  if (result) {
    logger.info(
      { ...result, cached: hit, ms: Math.round(performance.now() - started) },
      hit ? 'knowledge: answer threshold from the cache' : 'knowledge: answer threshold calibrated',
    );
  }
  return result;
}

/** Keys whose values are credentials: left out of what a cache key is made of. */
const SECRET_KEYS = new Set(['apiKey', 'password', 'secret', 'token', 'clientSecret']);

function withoutSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutSecrets);
  if (!value || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>)
      .filter(([key]) => !SECRET_KEYS.has(key))
      .map(([key, item]) => [key, withoutSecrets(item)]),
  );
}

/** Names, sizes and times of the files of an on-disk model: a model replaced in place is another input. */
async function modelFingerprint(dir: string): Promise<Array<[string, number, number]>> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => []);
  const files: Array<[string, number, number]> = [];
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    const info = await stat(file).catch(() => undefined);
    if (info) files.push([path.relative(dir, file), info.size, info.mtimeMs]);
  }
  return files.sort((a, b) => (a[0] < b[0] ? -1 : 1));
}

/** Polls a source's version; a change refreshes its chunks in the index. */
function watchSource(source: KnowledgeSource, ms: number, refresh: () => Promise<void>) {
  let seen: string | undefined;
  let busy = false;
  void source.version().then(
    (v) => {
      seen = v;
    },
    () => undefined,
  );
  const timer = setInterval(async () => {
    if (busy) return;
    busy = true;
    try {
      const version = await source.version();
      if (seen !== undefined && version !== seen) await refresh();
      seen = version;
    } catch (error) {
      logger.warn({ err: error, source: source.name }, 'knowledge source check failed; keeping the index');
    } finally {
      busy = false;
    }
  }, ms);
  timer.unref();
  return timer;
}

function watchStore(config: HubConfig, options: KnowledgeOptions, ms: number, reload: () => Promise<number>) {
  const store = new KnowledgeStore(path.resolve(options.cwd ?? process.cwd(), config.knowledge.storeDir));
  let seen: number | undefined;
  let busy = false;
  void store.version().then((v) => {
    seen = v;
  });
  const timer = setInterval(async () => {
    if (busy || seen === undefined) return;
    busy = true;
    try {
      const version = await store.version();
      if (version !== seen) {
        seen = version;
        logger.info({ chunks: await reload() }, 'knowledge store changed; index reloaded');
      }
    } catch (error) {
      logger.warn({ err: error }, 'knowledge reload failed; keeping the previous index');
    } finally {
      busy = false;
    }
  }, ms);
  timer.unref();
  return timer;
}
