export type ChineseAnalyzer = 'smartcn' | 'icu';

/** Tenant value of chunks every tenant may see. */
export const SHARED_TENANT = '*';

/**
 * Analysis for BM25 over Chinese and English in one field. Both need a plugin (docker-compose.yml
 * installs them): analysis-smartcn segments Simplified Chinese with a dictionary (HMM) model;
 * analysis-icu segments any CJK text with ICU's dictionary, the same one the embedded tokenizer uses.
 * English words pass through both tokenizers whole, then are lower-cased and Porter-stemmed.
 */
export function analysisSettings(analyzer: ChineseAnalyzer) {
  return analyzer === 'smartcn'
    ? {
        analyzer: {
          hub_text: {
            type: 'custom' as const,
            tokenizer: 'smartcn_tokenizer',
            filter: ['lowercase', 'smartcn_stop', 'porter_stem'],
          },
        },
      }
    : {
        analyzer: {
          hub_text: {
            type: 'custom' as const,
            tokenizer: 'icu_tokenizer',
            filter: ['icu_folding', 'porter_stem'],
          },
        },
      };
}

/**
 * The index template every blue/green generation (`<alias>-*`) is created from. Vectors are
 * int8-quantised HNSW with cosine similarity (4x less memory than float, recall within a point);
 * tenant, language and tags are keywords so filters are exact and cheap; `dynamic: strict` turns a
 * misspelled field into an error instead of a silent new mapping.
 */
export function indexTemplate(alias: string, dimensions: number, analyzer: ChineseAnalyzer) {
  return {
    name: `${alias}-template`,
    index_patterns: [`${alias}-*`],
    priority: 200,
    template: {
      settings: { number_of_shards: 1, analysis: analysisSettings(analyzer) },
      mappings: {
        dynamic: 'strict' as const,
        properties: {
          id: { type: 'keyword' as const },
          doc_id: { type: 'keyword' as const },
          title: { type: 'text' as const, analyzer: 'hub_text' },
          text: { type: 'text' as const, analyzer: 'hub_text' },
          section: { type: 'keyword' as const },
          source: { type: 'keyword' as const },
          url: { type: 'keyword' as const, index: false },
          language: { type: 'keyword' as const },
          tenant: { type: 'keyword' as const },
          tags: { type: 'keyword' as const },
          updated_at: { type: 'date' as const },
          embedding: {
            type: 'dense_vector' as const,
            dims: dimensions,
            index: true,
            similarity: 'cosine' as const,
            index_options: { type: 'int8_hnsw' as const },
          },
        },
      },
    },
  };
}
