import path from 'node:path';
import type { HubConfig } from '../../config/schema';
import type { KnowledgeChunk } from '../types/ports';
import { EmbeddedRetriever, type EmbeddedRetrieverOptions } from './embedded-retriever';
import { type LoadOptions, loadKnowledge } from './load';

export { EmbeddedRetriever, type EmbeddedRetrieverOptions } from './embedded-retriever';
export type { Embedder } from './embedder';
export { ANSWER_MIN_SCORE, dontKnow, type ExtractiveAnswer, extractiveAnswer } from './extractive';
export { HashEmbedder } from './hash-embedder';
export { detectLanguage } from './language';
export { type LoadOptions, loadKnowledge, parseKnowledgeFile } from './load';
export { buildRagMessages, type RagPrompt, type RagPromptInput } from './prompt';

export interface Knowledge {
  /** Stable across reloads: holders of it see the new content. */
  retriever: EmbeddedRetriever;
  /** The chunks currently indexed. */
  readonly chunks: KnowledgeChunk[];
  /** Read the folder again and swap the index; returns the new chunk count. On error the old index stays. */
  reload(): Promise<number>;
}

export interface KnowledgeOptions extends EmbeddedRetrieverOptions, LoadOptions {
  /** Base for a relative `knowledge.dir`; default `process.cwd()`. */
  cwd?: string;
}

/** Load `config.knowledge.dir` into the embedded retriever (the default without Elasticsearch). */
export async function createKnowledge(config: HubConfig, options: KnowledgeOptions = {}): Promise<Knowledge> {
  const dir = path.resolve(options.cwd ?? process.cwd(), config.knowledge.dir);
  const retriever = new EmbeddedRetriever(options);
  let chunks: KnowledgeChunk[] = [];
  const reload = async () => {
    const loaded = await loadKnowledge(dir, options);
    await retriever.replaceAll(loaded);
    chunks = loaded;
    return loaded.length;
  };
  await reload();
  return {
    retriever,
    get chunks() {
      return chunks;
    },
    reload,
  };
}
