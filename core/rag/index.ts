import path from 'node:path';
import type { Client } from '@elastic/elasticsearch';
import type { HubConfig } from '../config/schema';
import { logger } from '../log';
import type { KnowledgeChunk, Retriever } from '../types';
import { AnsweringRetriever, DEFAULT_MIN_SCORE } from './answering-retriever';
import { createElasticsearchClient, ElasticsearchRetriever } from './elasticsearch/retriever';
import { EmbeddedRetriever, type EmbeddedRetrieverOptions } from './embedded-retriever';
import type { Embedder } from './embedder';
import { KnowledgeStore } from './ingest/store';
import type { KnowledgeIndex } from './knowledge-index';
import { type LoadOptions, loadKnowledge } from './load';
import { createEmbedder } from './openai-embedder';
import { HttpReranker, type Reranker } from './reranker';

export { AnsweringRetriever, DEFAULT_MIN_SCORE } from './answering-retriever';
export { ElasticsearchRetriever } from './elasticsearch/retriever';
export { EmbeddedRetriever, type EmbeddedRetrieverOptions } from './embedded-retriever';
export type { Embedder } from './embedder';
export { ANSWER_MIN_SCORE, dontKnow, type ExtractiveAnswer, extractiveAnswer } from './extractive';
export { HashEmbedder } from './hash-embedder';
export type { KnowledgeIndex } from './knowledge-index';
export { detectLanguage } from './language';
export { type LoadOptions, loadKnowledge, parseKnowledgeFile } from './load';
export { createEmbedder, OpenAiEmbedder } from './openai-embedder';
export { buildRagMessages, type RagPrompt, type RagPromptInput } from './prompt';
export { HttpReranker, type Reranker } from './reranker';

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

export interface KnowledgeOptions extends EmbeddedRetrieverOptions, LoadOptions {
  /** Base for relative `knowledge.dir` and `knowledge.storeDir`; default `process.cwd()`. */
  cwd?: string;
  embedder?: Embedder;
  reranker?: Reranker;
  /** A ready client (tests pass the emulator's). */
  elasticsearchClient?: Client;
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

/** The configured index (embedded or Elasticsearch), not yet filled. */
export function createIndex(config: HubConfig, options: KnowledgeOptions = {}): KnowledgeIndex {
  const embedder = options.embedder ?? createEmbedder(config.knowledge);
  if (config.knowledge.retriever === 'elasticsearch') {
    const es = config.knowledge.elasticsearch;
    return new ElasticsearchRetriever({
      client: options.elasticsearchClient ?? createElasticsearchClient(es),
      embedder,
      alias: es.alias,
      analyzer: es.analyzer,
      bulkSize: es.bulkSize,
    });
  }
  return new EmbeddedRetriever({ ...options, embedder });
}

/**
 * The knowledge the hub answers from. Embedded: `knowledge.dir` and the ingest store are loaded into
 * memory, and the store is watched so `hub kb ingest` reaches a running hub within seconds.
 * Elasticsearch: the alias is served as it is; only when it does not exist yet is it built from the
 * same sources (blue/green), so a fresh cluster answers at once.
 */
export async function createKnowledge(config: HubConfig, options: KnowledgeOptions = {}): Promise<Knowledge> {
  const index = createIndex(config, options);
  const rerank = config.knowledge.rerank;
  const reranker = options.reranker ?? (rerank ? new HttpReranker(rerank) : undefined);
  const indexMin = DEFAULT_MIN_SCORE[config.knowledge.retriever];
  const retriever = new AnsweringRetriever(index, {
    reranker,
    candidates: rerank?.candidates,
    minScore: config.knowledge.minScore ?? (reranker ? DEFAULT_MIN_SCORE.rerank : indexMin),
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
  if (index instanceof ElasticsearchRetriever) {
    if ((await index.liveIndices()).length === 0) await reload();
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
