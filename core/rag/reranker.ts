import type { HubConfig } from '../config/schema';
import { backoffDelay } from '../resilience/backoff';
import { parseRetryAfter } from '../resilience/retry-after';
import { sleep } from '../resilience/sleep';
import { HubError } from '../types/errors';

export type RerankConfig = NonNullable<HubConfig['knowledge']['rerank']>;

/** Relevance of each text to the query, in [0, 1], in the order of `texts`. */
export interface Reranker {
  rerank(query: string, texts: string[]): Promise<number[]>;
}

const RETRIES = 2;
/** A longer Retry-After is cut to this: a customer is waiting on the answer. */
const MAX_RETRY_AFTER_MS = 10_000;
const RETRY_BACKOFF = { baseMs: 200, maxMs: MAX_RETRY_AFTER_MS };

/**
 * A cross-encoder behind HTTP. `tei`: Hugging Face text-embeddings-inference `POST /rerank`
 * `{query, texts}` → `[{index, score}]` (sigmoid scores). `openai`: the Jina/Cohere shape vLLM and
 * Infinity serve, `POST /rerank` (under /v1) `{model, query, documents}` → `{results: [{index,
 * relevance_score}]}`. 429 and 5xx are retried twice, after Retry-After when the server sends one.
 */
export class HttpReranker implements Reranker {
  constructor(private readonly config: RerankConfig) {}

  async rerank(query: string, texts: string[]): Promise<number[]> {
    if (texts.length === 0) return [];
    const url = `${this.config.baseUrl.replace(/\/+$/, '')}/rerank`;
    const body =
      this.config.style === 'tei'
        ? { query, texts, raw_scores: false }
        : { model: this.config.model, query, documents: texts, top_n: texts.length };
    for (let attempt = 0; ; attempt++) {
      let response: Response;
      try {
        response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${this.config.apiKey}` },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(this.config.timeoutMs),
        });
      } catch (cause) {
        if (attempt < RETRIES) continue;
        throw this.error(`unreachable (${(cause as Error).message})`, cause, true);
      }
      if ((response.status === 429 || response.status >= 500) && attempt < RETRIES) {
        const requested = parseRetryAfter(response.headers.get('retry-after'));
        await sleep(backoffDelay(RETRY_BACKOFF, attempt + 1, requested));
        continue;
      }
      if (!response.ok) {
        throw this.error(
          `HTTP ${response.status}: ${(await response.text()).slice(0, 200)}`,
          undefined,
          response.status >= 500,
        );
      }
      return this.scores(await response.json(), texts.length);
    }
  }

  private scores(data: unknown, n: number): number[] {
    const items =
      this.config.style === 'tei'
        ? (data as Array<{ index: number; score: number }>)
        : (data as { results?: Array<{ index: number; relevance_score: number }> }).results?.map((r) => ({
            index: r.index,
            score: r.relevance_score,
          }));
    if (!Array.isArray(items)) throw this.error('unexpected response shape');
    const scores = new Array<number>(n).fill(0);
    for (const { index, score } of items) if (index >= 0 && index < n) scores[index] = score;
    return scores;
  }

  private error(reason: string, cause?: unknown, retryable = false): HubError {
    return new HubError(
      'rag.rerank',
      `Rerank endpoint ${this.config.baseUrl} failed: ${reason}. Fix: check knowledge.rerank.baseUrl and style (tei or openai).`,
      { cause, retryable },
    );
  }
}
