import type { KnowledgeChunk, Retriever } from '../types';

/**
 * A retriever whose content can be changed: the embedded (Orama) one and the Elasticsearch one.
 * Each passes test/conformance/retriever.test.ts; descriptors in core/rag/retrievers.
 */
export interface KnowledgeIndex extends Retriever {
  readonly name: string;
  /** Add chunks, replacing those with the same id. */
  index(chunks: KnowledgeChunk[]): Promise<void>;
  /** Remove chunks by id; unknown ids are ignored. */
  remove(ids: string[]): Promise<void>;
  /** Swap the whole content; searches meanwhile are answered from the old content, never from a half-built one. */
  replaceAll(chunks: KnowledgeChunk[]): Promise<void>;
  /**
   * Whether the index holds content now. Only an index that outlives the process (Elasticsearch)
   * has this: the hub serves it as it is and builds it from the sources only when it is empty. An
   * in-process index starts empty every time, so the hub fills it at start and reloads it when the
   * ingest store changes.
   */
  isBuilt?(): Promise<boolean>;
  close(): Promise<void>;
}
