import type { KnowledgeChunk } from '../types';

/**
 * What a text is: a customer's question, or a knowledge passage. Asymmetric models embed the two
 * differently (e5 wants "query: " and "passage: " before them); the others ignore it.
 */
export type EmbedKind = 'query' | 'passage';

/**
 * Text → dense vector. The embedded default is `HashEmbedder`; `OpenAiEmbedder` asks an
 * embeddings server, `OnnxEmbedder` runs a model from disk in-process.
 */
export interface Embedder {
  readonly name: string;
  readonly dimensions: number;
  /** One L2-normalised vector per text, in order. `kind` defaults to `passage`. */
  embed(texts: string[], kind?: EmbedKind): Promise<number[][]>;
}

/** What a chunk is embedded as: the heading is the question the entry answers; it belongs in the vector as much as the answer. */
export function embeddingText(chunk: Pick<KnowledgeChunk, 'title' | 'text'>): string {
  return `${chunk.title}\n${chunk.text}`;
}
