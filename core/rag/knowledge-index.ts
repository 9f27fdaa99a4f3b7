import type { KnowledgeChunk, Retriever } from '../types';

/**
 * A retriever whose content can be changed: the embedded (Orama) one and the Elasticsearch one.
 * Both pass test/conformance/retriever.ts.
 */
export interface KnowledgeIndex extends Retriever {
  readonly name: string;
  /** Add chunks, replacing those with the same id. */
  index(chunks: KnowledgeChunk[]): Promise<void>;
  /** Remove chunks by id; unknown ids are ignored. */
  remove(ids: string[]): Promise<void>;
  /** Swap the whole content; searches meanwhile are answered from the old content, never from a half-built one. */
  replaceAll(chunks: KnowledgeChunk[]): Promise<void>;
  close(): Promise<void>;
}
