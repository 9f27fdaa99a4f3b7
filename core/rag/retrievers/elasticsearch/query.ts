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

/** The BM25 leg: title and text, title boosted. */
function textQuery(input: HybridQueryInput, filter: object[]) {
  return {
    bool: {
      must: [{ multi_match: { query: input.query, fields: ['title^2', 'text'] } }],
      filter,
    },
  };
}

/**
 * The kNN leg, filtered inside HNSW (pre-filtering), so a tenant's k hits are never crowded out by
 * other tenants' documents.
 */
function vectorQuery(input: HybridQueryInput, filter: object[]) {
  return {
    field: 'embedding',
    query_vector: input.vector,
    k: input.candidates,
    num_candidates: input.candidates * 2,
    filter,
  };
}

const SOURCE_WITHOUT_VECTOR = { excludes: ['embedding'] };

/** One request: BM25 and kNN fused by the `rrf` retriever (an Enterprise or trial licence). */
export function hybridSearchBody(input: HybridQueryInput) {
  const filter = filters(input);
  return {
    size: input.k,
    _source: SOURCE_WITHOUT_VECTOR,
    retriever: {
      rrf: {
        retrievers: [{ standard: { query: textQuery(input, filter) } }, { knn: vectorQuery(input, filter) }],
        rank_window_size: input.candidates,
        rank_constant: RANK_CONSTANT,
      },
    },
  };
}

/**
 * The same two legs as `hybridSearchBody`, as the two searches of one `_msearch` (any licence), each
 * returning the `candidates` the `rrf` retriever would fuse; the hub fuses them with the same
 * rank constant and window (core/rag/fusion.ts `reciprocalRankFusion`).
 */
export function splitSearchBodies(input: HybridQueryInput): [object, object] {
  const filter = filters(input);
  return [
    { size: input.candidates, _source: SOURCE_WITHOUT_VECTOR, query: textQuery(input, filter) },
    { size: input.candidates, _source: SOURCE_WITHOUT_VECTOR, knn: vectorQuery(input, filter) },
  ];
}

/**
 * RRF scores are ranks, not relevance: 1 here means first in both lists, 0.5 first in one list only.
 * Off-topic questions usually reach only the kNN list (which always returns something), so a
 * threshold just above 0.5 asks both legs to agree; a reranker gives a real relevance score.
 * Both paths (the `rrf` retriever, the hub's own fusion) produce the same raw score, so one threshold
 * serves both.
 */
export function normaliseRrf(score: number): number {
  return Math.min(1, score / (2 / (RANK_CONSTANT + 1)));
}
