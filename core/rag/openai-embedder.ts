import type OpenAI from 'openai';
import type { HubConfig } from '../config/schema';
import { lazyOpenAi } from '../llm/sdk';
import { HubError } from '../types/errors';
import type { Embedder } from './embedder';
import { HashEmbedder } from './hash-embedder';
import { OnnxEmbedder } from './onnx-embedder';

export type EmbeddingsConfig = NonNullable<HubConfig['knowledge']['embeddings']>;

/**
 * Dense vectors from any OpenAI-compatible `/v1/embeddings` server (vLLM, TEI, Infinity, Ollama...).
 * Texts go in batches of `batchSize`, one batch at a time; the SDK retries 408/409/429/5xx and
 * connection errors with backoff and honours Retry-After. Vectors are L2-normalised here, since not
 * every server does, so cosine is a dot product everywhere.
 */
export class OpenAiEmbedder implements Embedder {
  readonly name: string;
  readonly dimensions: number;
  private readonly client: () => Promise<OpenAI>;

  constructor(private readonly config: EmbeddingsConfig) {
    this.name = `openai:${config.model}`;
    this.dimensions = config.dimensions;
    this.client = lazyOpenAi({
      baseURL: config.baseUrl,
      apiKey: config.apiKey,
      timeout: config.timeoutMs,
      maxRetries: config.maxRetries,
    });
  }

  async embed(texts: string[]): Promise<number[][]> {
    const vectors: number[][] = [];
    for (let start = 0; start < texts.length; start += this.config.batchSize) {
      vectors.push(...(await this.batch(texts.slice(start, start + this.config.batchSize))));
    }
    return vectors;
  }

  private async batch(input: string[]): Promise<number[][]> {
    // An empty string is a 400 on some servers; a single space embeds as "nothing" everywhere.
    const safe = input.map((text) => (text.trim() ? text : ' '));
    let response: OpenAI.CreateEmbeddingResponse;
    try {
      response = await (await this.client()).embeddings.create({
        model: this.config.model,
        input: safe,
        encoding_format: 'float',
        ...(this.config.matryoshka ? { dimensions: this.config.dimensions } : {}),
      });
    } catch (cause) {
      const status = (cause as { status?: number }).status;
      throw new HubError(
        'rag.embeddings',
        `Embeddings request to ${this.config.baseUrl} failed${status ? ` (HTTP ${status})` : ''}: ${(cause as Error).message}. Fix: check knowledge.embeddings.baseUrl, model and apiKey.`,
        { cause, retryable: status === undefined || status === 429 || status >= 500 },
      );
    }
    const ordered = [...response.data].sort((a, b) => a.index - b.index);
    if (ordered.length !== input.length) {
      throw new HubError(
        'rag.embeddings',
        `Embeddings server returned ${ordered.length} vectors for ${input.length} texts`,
      );
    }
    return ordered.map(({ embedding }) => {
      if (embedding.length !== this.dimensions) {
        throw new HubError(
          'rag.embeddings_dimensions',
          `${this.config.model} returned ${embedding.length}-dimensional vectors, knowledge.embeddings.dimensions is ${this.dimensions}. Fix: set dimensions to ${embedding.length} (and reindex), or matryoshka: true if the model can shorten its vectors.`,
        );
      }
      return normalise(embedding);
    });
  }
}

function normalise(vector: number[]): number[] {
  let sum = 0;
  for (const value of vector) sum += value * value;
  const norm = Math.sqrt(sum);
  return norm === 0 ? vector : vector.map((value) => value / norm);
}

/**
 * The configured embeddings server, else the configured model on disk (`knowledge.embedder`,
 * checked now, loaded at its first use), else the offline hashed embedder (512 dimensions).
 * `cwd` resolves a relative `modelDir`.
 */
export function createEmbedder(config: HubConfig['knowledge'], cwd = process.cwd()): Embedder {
  if (config.embeddings) return new OpenAiEmbedder(config.embeddings);
  if (config.embedder) return new OnnxEmbedder(config.embedder, cwd);
  return new HashEmbedder(512);
}
