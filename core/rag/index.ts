import path from 'node:path';
import type { HubConfig } from '../config/schema';
import { logger } from '../log';
import type { KnowledgeChunk, Retriever } from '../types';
import { AnsweringRetriever, RERANK_MIN_SCORE } from './answering-retriever';
import type { Embedder } from './embedder';
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

export { AnsweringRetriever, RERANK_MIN_SCORE } from './answering-retriever';
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
export { ElasticsearchRetriever } from './retrievers/elasticsearch';
export { EmbeddedRetriever, type EmbeddedRetrieverOptions } from './retrievers/embedded';

export interface Knowledge {
  /** What the dialog engine searches: index → optional reranker → relevance threshold. Stable across reloads. */
  retriever: Retriever;
  /** The index underneath (embedded or Elasticsearch). */
  index: KnowledgeIndex;
  /** The chunks loaded from `knowledge.dir` and the ingest store at the last (re)load. */
  readonly chunks: KnowledgeChunk[];
  /** Read the folder and the store again and swap the index; returns the new chunk count. On error the old index stays. */
  reload(): Promise<number>;
  close(): Promise<void>;
}

export interface KnowledgeOptions extends Partial<RetrieverContext>, LoadOptions {
  /** Base for relative `knowledge.dir` and `knowledge.storeDir`; default `process.cwd()`. */
  cwd?: string;
  embedder?: Embedder;
  reranker?: Reranker;
  /** Where `knowledge.retriever` is looked up; default the built-in retrievers. */
  retrievers?: RetrieverRegistry;
  /** How often the embedded hub checks the ingest store for changes (default 2000 ms; 0 = never). */
  watchMs?: number;
}

/** `knowledge.dir` (Markdown) plus everything `hub kb ingest` stored; a stored chunk wins over one with the same id. */
export async function loadAllChunks(
  config: HubConfig,
  options: KnowledgeOptions = {},
): Promise<KnowledgeChunk[]> {
  const cwd = options.cwd ?? process.cwd();
  const fromDir = await loadKnowledge(path.resolve(cwd, config.knowledge.dir), options);
  const { chunks: stored } = await new KnowledgeStore(path.resolve(cwd, config.knowledge.storeDir)).read();
  const byId = new Map(fromDir.map((chunk) => [chunk.id, chunk]));
  for (const chunk of stored) byId.set(chunk.id, chunk);
  return [...byId.values()];
}

/** The configured index (`knowledge.retriever`), not yet filled. */
export function createIndex(config: HubConfig, options: KnowledgeOptions = {}): KnowledgeIndex {
  return buildIndex(config, options).index;
}

function buildIndex(
  config: HubConfig,
  options: KnowledgeOptions,
): { index: KnowledgeIndex; descriptor: AnyRetrieverDescriptor } {
  const { descriptor, options: retrieverOptions } = (options.retrievers ?? retrievers).resolve(
    config.knowledge,
  );
  const embedder = options.embedder ?? createEmbedder(config.knowledge, options.cwd);
  // The descriptor's own schema produced `retrieverOptions`.
  const index = descriptor.create(retrieverOptions as never, { ...options, embedder });
  return { index, descriptor };
}

/**
 * The knowledge the hub answers from. An in-process index (embedded): `knowledge.dir` and the
 * ingest store are loaded into memory, and the store is watched so `hub kb ingest` reaches a running
 * hub within seconds. An index that outlives the process (Elasticsearch): served as it is; only
 * when it is empty is it built from the same sources (blue/green), so a fresh cluster answers at once.
 */
export async function createKnowledge(config: HubConfig, options: KnowledgeOptions = {}): Promise<Knowledge> {
  const { index, descriptor } = buildIndex(config, options);
  const rerank = config.knowledge.rerank;
  const reranker = options.reranker ?? (rerank ? new HttpReranker(rerank) : undefined);
  const indexMin = descriptor.defaultMinScore;
  const retriever = new AnsweringRetriever(index, {
    reranker,
    candidates: rerank?.candidates,
    minScore: config.knowledge.minScore ?? (reranker ? RERANK_MIN_SCORE : indexMin),
    fallbackMinScore: indexMin,
  });
  let chunks: KnowledgeChunk[] = [];
  const reload = async () => {
    const loaded = await loadAllChunks(config, options);
    await index.replaceAll(loaded);
    chunks = loaded;
    return loaded.length;
  };
  let timer: NodeJS.Timeout | undefined;
  if (index.isBuilt) {
    if (!(await index.isBuilt())) await reload();
  } else {
    await reload();
    const watchMs = options.watchMs ?? 2000;
    if (watchMs > 0) timer = watchStore(config, options, watchMs, reload);
  }
  return {
    retriever,
    index,
    get chunks() {
      return chunks;
    },
    reload,
    async close() {
      if (timer) clearInterval(timer);
      await index.close();
    },
  };
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
