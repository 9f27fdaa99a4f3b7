import { logger } from '../log';
import type { Passage, Retriever, SearchOptions } from '../types';
import { type ConfidenceMeasure, confidenceOf } from './calibration';
import { detectLanguage } from './language';
import type { Reranker } from './reranker';
import type { Synonyms } from './synonyms';

/**
 * Default relevance threshold on a cross-encoder's sigmoid relevance, measured on the demo base
 * (`hub kb eval`). Each retriever's own threshold is on its descriptor (core/rag/retrievers).
 */
export const RERANK_MIN_SCORE = 0.3;

export interface AnsweringRetrieverOptions {
  reranker?: Reranker;
  /** Passages fetched before reranking down to k (default 20). */
  candidates?: number;
  /**
   * The answer/refuse threshold on `measure`: below it the result is empty and the bot says it
   * does not know and offers a human.
   */
  minScore: number;
  /** What the threshold applies to (core/rag/calibration.ts); default the best passage's score. */
  measure?: ConfidenceMeasure;
  /** Threshold on the index's own scores, used when the reranker fails. */
  fallbackMinScore?: number;
  /** `knowledge.synonyms`: the index is searched with the question expanded (the reranker sees it as asked). */
  synonyms?: Synonyms;
}

/**
 * What the dialog engine searches: the index, then the optional reranker, then the relevance
 * threshold. An empty result is the "don't know" signal both answer paths act on — the extractive
 * answer says so and offers an agent; the LLM prompt says no passage was found and instructs the
 * model to offer a human instead of guessing. A failing reranker degrades to the index's order.
 */
export class AnsweringRetriever implements Retriever {
  private readonly options: AnsweringRetrieverOptions;

  constructor(
    private readonly base: Retriever,
    options: AnsweringRetrieverOptions,
  ) {
    this.options = { ...options };
  }

  index(...args: Parameters<Retriever['index']>) {
    return this.base.index(...args);
  }

  count() {
    return this.base.count();
  }

  get minScore(): number {
    return this.options.minScore;
  }

  get measure(): ConfidenceMeasure {
    return this.options.measure ?? 'score';
  }

  /** Set by calibration after each (re)index (core/rag/index.ts); searches after it use the new threshold. */
  setThreshold(minScore: number, measure: ConfidenceMeasure = this.measure): void {
    this.options.minScore = minScore;
    this.options.measure = measure;
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
    const searched = this.options.synonyms?.expand(query, options.tenant) ?? query;
    // The language is the customer's, not that of the words the synonyms added.
    if (searched !== query && !options.language) options = { ...options, language: detectLanguage(query) };
    if (!reranker) {
      // Two at least: the margin between the first and the second is a confidence measure.
      const passages = await this.base.search(searched, { ...options, k: Math.max(k, 2) });
      return this.decide(passages, minScore).slice(0, k);
    }
    const candidates = await this.base.search(searched, {
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
    const reranked = candidates
      .map((passage, i) => ({ ...passage, score: scores[i] ?? 0 }))
      .sort((a, b) => b.score - a.score);
    return this.decide(reranked, minScore).slice(0, k);
  }

  /**
   * Answer or refuse, on the whole list: nothing when the confidence is under the threshold, else
   * every passage (the ones after the first are context for the model, not answers on their own).
   */
  private decide(passages: Passage[], minScore: number): Passage[] {
    return confidenceOf(passages, this.measure) >= minScore ? passages : [];
  }
}
