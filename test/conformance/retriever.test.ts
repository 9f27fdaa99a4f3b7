import { Client } from '@elastic/elasticsearch';
import { describe, expect, it } from 'vitest';
import { elasticsearchRetriever } from '../../core/rag/retrievers/elasticsearch';
import type { ElasticsearchRetriever } from '../../core/rag/retrievers/elasticsearch/retriever';
import { embeddedRetriever } from '../../core/rag/retrievers/embedded';
import { createElasticsearchEmulator, type ElasticsearchEmulator } from '../emulators/elasticsearch-emulator';
import { retrieverConformance } from './retriever-contract';

retrieverConformance('embedded (Orama)', embeddedRetriever, { fresh: () => ({}) });

let aliasSeq = 0;
/** Both ways of fusing: the cluster's rrf retriever (licensed), and _msearch fused in the hub (basic). */
const licensed: ElasticsearchEmulator[] = [];
const basic: ElasticsearchEmulator[] = [];
retrieverConformance(
  'Elasticsearch, enterprise licence: rrf retriever (emulator on elasticsearch-mock)',
  elasticsearchRetriever,
  {
    fresh: () => {
      const es = createElasticsearchEmulator({ licence: 'enterprise' });
      licensed.push(es);
      return {
        options: { alias: `kb${aliasSeq++}`, bulkSize: 25 },
        context: { elasticsearchClient: es.client },
      };
    },
  },
);
retrieverConformance(
  'Elasticsearch, basic licence: _msearch fused in the hub (emulator on elasticsearch-mock)',
  elasticsearchRetriever,
  {
    fresh: () => {
      const es = createElasticsearchEmulator({ licence: 'basic' });
      basic.push(es);
      return {
        options: { alias: `kb${aliasSeq++}`, bulkSize: 25 },
        context: { elasticsearchClient: es.client },
      };
    },
  },
);

describe('retriever conformance: each Elasticsearch run went the way its licence allows', () => {
  const searches = (runs: ElasticsearchEmulator[], path: RegExp) =>
    runs.flatMap((es) => es.requests).filter((r) => path.test(r.path)).length;
  it('enterprise: every query one rrf _search, no _msearch', () => {
    expect(searches(licensed, /\/_search$/)).toBeGreaterThan(10);
    expect(searches(licensed, /\/_msearch$/)).toBe(0);
  });
  it('basic: every query one _msearch, never a refused rrf _search', () => {
    expect(searches(basic, /\/_msearch$/)).toBeGreaterThan(10);
    expect(searches(basic, /\/_search$/)).toBe(0);
  });
});

const ELASTICSEARCH_URL = process.env.ELASTICSEARCH_URL;
if (ELASTICSEARCH_URL) {
  const prefix = `hub-test-${process.pid}`;
  let aliases = 0;
  retrieverConformance(`Elasticsearch (real cluster at ${ELASTICSEARCH_URL})`, elasticsearchRetriever, {
    fresh: () => ({
      options: {
        url: ELASTICSEARCH_URL,
        alias: `${prefix}-${aliases++}`,
        analyzer: process.env.ELASTICSEARCH_ANALYZER ?? 'smartcn',
      },
    }),
    // Named deletes: clusters refuse wildcard deletes by default (action.destructive_requires_name).
    cleanup: async (made) => {
      const client = new Client({ node: ELASTICSEARCH_URL });
      for (const [i, index] of made.entries()) {
        const live = await (index as ElasticsearchRetriever).liveIndices().catch(() => []);
        if (live.length > 0) await client.indices.delete({ index: live }).catch(() => undefined);
        await client.indices.deleteIndexTemplate({ name: `${prefix}-${i}-template` }).catch(() => undefined);
      }
      await client.close();
    },
  });
} else {
  describe.skip('retriever conformance: Elasticsearch (real cluster; set ELASTICSEARCH_URL to run)', () => {
    it('runs the suite against a real cluster', () => {});
  });
}
