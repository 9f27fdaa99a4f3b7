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
