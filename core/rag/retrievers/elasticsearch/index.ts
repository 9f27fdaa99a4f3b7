import { z } from 'zod';
import { defineRetriever } from '../descriptor';
import { checkElasticsearchOnline } from './online';

const positiveInt = z.coerce.number().int().positive();

export const elasticsearchOptionsSchema = z.object({
  url: z.string().default('http://127.0.0.1:9200'),
  /** The alias queries go to; blue/green indices are named `<alias>-<timestamp>`. */
  alias: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_-]*$/, 'use lower-case letters, digits, "_" and "-"')
    .default('hub-knowledge'),
  /** Analysis plugin for Chinese BM25: analysis-smartcn or analysis-icu (see docker-compose.yml). */
  analyzer: z.enum(['smartcn', 'icu']).default('smartcn'),
  apiKey: z.string().optional(),
  username: z.string().optional(),
  password: z.string().optional(),
  /** Documents per bulk request; the next request waits for this one (backpressure). */
  bulkSize: positiveInt.default(500),
});

/**
 * Elasticsearch hybrid search (dense_vector + BM25, fused), blue/green reindexing behind an alias.
 * The client library (with undici, about 2.5 MB of JavaScript and 10 MB of heap) is loaded by
 * `create`, so a hub on the embedded retriever never loads it.
 */
export const elasticsearchRetriever = defineRetriever({
  name: 'elasticsearch',
  options: elasticsearchOptionsSchema,
  create: async (options, context) => {
    const { createElasticsearchClient, ElasticsearchRetriever } = await import('./retriever');
    return new ElasticsearchRetriever({
      client: context.elasticsearchClient ?? createElasticsearchClient(options),
      embedder: context.embedder,
      alias: options.alias,
      analyzer: options.analyzer,
      bulkSize: options.bulkSize,
    });
  },
  // The normalised RRF score, where 0.5 is "first in one list only" (see query.ts).
  defaultMinScore: 0.51,
  online: checkElasticsearchOnline,
});
