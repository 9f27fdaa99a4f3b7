import { Client } from '@elastic/elasticsearch';
import { describe, it } from 'vitest';
import { type ElasticsearchRetriever, elasticsearchRetriever } from '../../core/rag/retrievers/elasticsearch';
import { embeddedRetriever } from '../../core/rag/retrievers/embedded';
import { createElasticsearchEmulator } from '../emulators/elasticsearch-emulator';
import { retrieverConformance } from './retriever-contract';

retrieverConformance('embedded (Orama)', embeddedRetriever, { fresh: () => ({}) });

let aliasSeq = 0;
retrieverConformance('Elasticsearch (emulator on elasticsearch-mock)', elasticsearchRetriever, {
  fresh: () => ({
    options: { alias: `kb${aliasSeq++}`, bulkSize: 25 },
    context: { elasticsearchClient: createElasticsearchEmulator().client },
  }),
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
