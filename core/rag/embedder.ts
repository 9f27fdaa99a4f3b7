import type { KnowledgeChunk } from '../types';

/**
 * Text → dense vector. The embedded default is `HashEmbedder`; an OpenAI-compatible embeddings
 * client can implement the same interface later without touching the retriever.
 */
export interface Embedder {
  readonly name: string;
  readonly dimensions: number;
  /** One L2-normalised vector per text, in order. */
  embed(texts: string[]): Promise<number[][]>;
}

/** What a chunk is embedded as: the heading is the question the entry answers; it belongs in the vector as much as the answer. */
export function embeddingText(chunk: Pick<KnowledgeChunk, 'title' | 'text'>): string {
  return `${chunk.title}\n${chunk.text}`;
}
