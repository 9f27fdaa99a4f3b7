import { logger } from '../log';
import type { Passage, Retriever, SearchOptions } from '../types';
import type { Reranker } from './reranker';

/**
 * Default relevance threshold on a cross-encoder's sigmoid relevance, measured on the demo base
 * (`hub kb eval`). Each retriever's own threshold is on its descriptor (core/rag/retrievers).
 */
export const RERANK_MIN_SCORE = 0.3;

export interface AnsweringRetrieverOptions {
  reranker?: Reranker;
  /** Passages fetched before reranking down to k (default 20). */
  candidates?: number;
  /** Passages scoring below this are dropped: with none left, the bot says it does not know and offers a human. */
  minScore: number;
  /** Threshold on the index's own scores, used when the reranker fails. */
  fallbackMinScore?: number;
}

/**
 * What the dialog engine searches: the index, then the optional reranker, then the relevance
 * threshold. An empty result is the "don't know" signal both answer paths act on — the extractive
 * answer says so and offers an agent; the LLM prompt says no passage was found and instructs the
 * model to offer a human instead of guessing. A failing reranker degrades to the index's order.
 */
export class AnsweringRetriever implements Retriever {
  constructor(
    private readonly base: Retriever,
    private readonly options: AnsweringRetrieverOptions,
  ) {}

  index(...args: Parameters<Retriever['index']>) {
    return this.base.index(...args);
  }

  count() {
    return this.base.count();
  }

  get minScore(): number {
    return this.options.minScore;
  }

  /** The same pipeline with another threshold (0 for ranking evaluations). */
  withMinScore(minScore: number): AnsweringRetriever {
    return new AnsweringRetriever(this.base, {
      ...this.options,
      minScore,
      fallbackMinScore: Math.min(minScore, this.options.fallbackMinScore ?? 0),
    });
  }

  async search(query: string, options: SearchOptions = {}): Promise<Passage[]> {
    const k = options.k ?? 4;
    const { reranker, minScore } = this.options;
    if (!reranker) return (await this.base.search(query, options)).filter((p) => p.score >= minScore);
    const candidates = await this.base.search(query, {
      ...options,
      k: Math.max(k, this.options.candidates ?? 20),
    });
    let scores: number[];
    try {
      scores = await reranker.rerank(
        query,
        candidates.map((p) => `${p.title}\n${p.text}`),
      );
    } catch (error) {
      logger.warn({ code: (error as { code?: string }).code }, 'rerank failed; keeping retrieval order');
      return candidates.filter((p) => p.score >= (this.options.fallbackMinScore ?? 0)).slice(0, k);
    }
    return candidates
      .map((passage, i) => ({ ...passage, score: scores[i] ?? 0 }))
      .sort((a, b) => b.score - a.score)
      .filter((p) => p.score >= minScore)
      .slice(0, k);
  }
}
