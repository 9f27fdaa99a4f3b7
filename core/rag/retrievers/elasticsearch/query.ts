import { SHARED_TENANT } from './mapping';

export interface HybridQueryInput {
  query: string;
  vector: number[];
  k: number;
  /** Hits taken from each of BM25 and kNN before fusing. */
  candidates: number;
  tenant?: string;
  /** Only this language, or (with `excludeLanguage`) every language but this one. */
  language?: string;
  excludeLanguage?: boolean;
  tags?: string[];
}

export const RANK_CONSTANT = 60;

/** Filters shared by both legs, so BM25 and kNN rank the same candidate set. */
export function filters(input: Pick<HybridQueryInput, 'tenant' | 'language' | 'excludeLanguage' | 'tags'>) {
  const tenants = input.tenant ? [input.tenant, SHARED_TENANT] : [SHARED_TENANT];
  const filter: object[] = [{ terms: { tenant: tenants } }];
  if (input.language && !input.excludeLanguage) filter.push({ term: { language: input.language } });
  if (input.tags?.length) filter.push({ terms: { tags: input.tags } });
  if (input.language && input.excludeLanguage) {
    return [{ bool: { filter, must_not: [{ term: { language: input.language } }] } }];
  }
  return filter;
}

/**
 * One request: BM25 over title and text, kNN over the embedding, fused by the RRF retriever.
 * The vector leg is filtered inside HNSW (pre-filtering), so a tenant's k hits are never crowded
 * out by other tenants' documents.
 */
export function hybridSearchBody(input: HybridQueryInput) {
  const filter = filters(input);
  return {
    size: input.k,
    _source: { excludes: ['embedding'] },
    retriever: {
      rrf: {
        retrievers: [
          {
            standard: {
              query: {
                bool: {
                  must: [{ multi_match: { query: input.query, fields: ['title^2', 'text'] } }],
                  filter,
                },
              },
            },
          },
          {
            knn: {
              field: 'embedding',
              query_vector: input.vector,
              k: input.candidates,
              num_candidates: input.candidates * 2,
              filter,
            },
          },
        ],
        rank_window_size: input.candidates,
        rank_constant: RANK_CONSTANT,
      },
    },
  };
}

/**
 * RRF scores are ranks, not relevance: 1 here means first in both lists, 0.5 first in one list only.
 * Off-topic questions usually reach only the kNN list (which always returns something), so a
 * threshold just above 0.5 asks both legs to agree; a reranker gives a real relevance score.
 */
export function normaliseRrf(score: number): number {
  return Math.min(1, score / (2 / (RANK_CONSTANT + 1)));
}
