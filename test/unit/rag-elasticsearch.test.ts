import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../core/config/load';
import type { Embedder } from '../../core/rag/embedder';
import { HashEmbedder } from '../../core/rag/hash-embedder';
import { createKnowledge } from '../../core/rag/index';
import { hybridSearchBody } from '../../core/rag/retrievers/elasticsearch/query';
import { ElasticsearchRetriever } from '../../core/rag/retrievers/elasticsearch/retriever';
import type { KnowledgeChunk } from '../../core/types';
import { createElasticsearchEmulator, type LicenceType } from '../emulators/elasticsearch-emulator';

const chunk = (id: string, text: string, extra: Partial<KnowledgeChunk> = {}): KnowledgeChunk => ({
  id,
  docId: id.split('#')[0] ?? id,
  title: text.split('.')[0] ?? text,
  text,
  language: 'en',
  source: 'faq.md',
  tags: [],
  ...extra,
});

/** Fixed vectors make the kNN part of the request body exact. */
class FixedEmbedder implements Embedder {
  readonly name = 'fixed';
  readonly dimensions = 3;
  readonly calls: string[][] = [];
  async embed(texts: string[]): Promise<number[][]> {
    this.calls.push(texts);
    return texts.map(() => [0.6, 0.8, 0]);
  }
}

/** An enterprise licence unless told: these cases record the `rrf` request; the basic-licence ones say so. */
function setup(options: { bulkSize?: number; licence?: LicenceType } = {}) {
  const es = createElasticsearchEmulator({ licence: options.licence ?? 'enterprise' });
  const embedder = new FixedEmbedder();
  const retriever = new ElasticsearchRetriever({
    client: es.client,
    embedder,
    alias: 'kb',
    bulkSize: options.bulkSize ?? 500,
    bulkBackoffMs: 1,
  });
  const requests = (method: string, path: RegExp) =>
    es.requests.filter((r) => r.method === method && path.test(r.path));
  return { es, embedder, retriever, requests };
}

describe('Elasticsearch retriever: request bodies', () => {
  it('puts an index template with dense_vector int8_hnsw cosine, a Chinese analyzer and keyword filters', async () => {
    const { retriever, requests } = setup();
    await retriever.ensureTemplate();
    const [put] = requests('PUT', /^\/_index_template\//);
    expect(put?.path).toBe('/_index_template/kb-template');
    expect(put?.body).toEqual({
      index_patterns: ['kb-*'],
      priority: 200,
      template: {
        settings: {
          number_of_shards: 1,
          analysis: {
            analyzer: {
              hub_text: {
                type: 'custom',
                tokenizer: 'smartcn_tokenizer',
                filter: ['lowercase', 'smartcn_stop', 'porter_stem'],
              },
            },
          },
        },
        mappings: {
          dynamic: 'strict',
          properties: {
            id: { type: 'keyword' },
            doc_id: { type: 'keyword' },
            title: { type: 'text', analyzer: 'hub_text' },
            text: { type: 'text', analyzer: 'hub_text' },
            section: { type: 'keyword' },
            source: { type: 'keyword' },
            url: { type: 'keyword', index: false },
            language: { type: 'keyword' },
            tenant: { type: 'keyword' },
            tags: { type: 'keyword' },
            updated_at: { type: 'date' },
            embedding: {
              type: 'dense_vector',
              dims: 3,
              index: true,
              similarity: 'cosine',
              index_options: { type: 'int8_hnsw' },
            },
          },
        },
      },
    });
    const icuSetup = setup();
    await new ElasticsearchRetriever({
      client: icuSetup.es.client,
      embedder: new FixedEmbedder(),
      alias: 'kb',
      analyzer: 'icu',
    }).ensureTemplate();
    const icuTemplate = icuSetup.requests('PUT', /_index_template/)[0]?.body as
      | { template: { settings: unknown } }
      | undefined;
    expect(icuTemplate?.template.settings).toEqual({
      number_of_shards: 1,
      analysis: {
        analyzer: {
          hub_text: { type: 'custom', tokenizer: 'icu_tokenizer', filter: ['icu_folding', 'porter_stem'] },
        },
      },
    });
  });

  it('sends one hybrid request: BM25 and kNN with the same filters, fused by the RRF retriever', async () => {
    const { retriever, requests } = setup();
    await retriever.replaceAll([
      chunk('a#one', 'Refunds take five days.', { tags: ['refund'] }),
      chunk('b#two', 'Returns are free.', { tags: ['returns'] }),
    ]);
    const passages = await retriever.search('refund time', {
      k: 2,
      language: 'en-US',
      tenant: 'acme',
      tags: ['refund'],
    });
    const searches = requests('POST', /^\/kb\/_search$/);
    const filter = [
      { terms: { tenant: ['acme', '*'] } },
      { term: { language: 'en' } },
      { terms: { tags: ['refund'] } },
    ];
    expect(searches[0]?.body).toEqual({
      size: 2,
      _source: { excludes: ['embedding'] },
      retriever: {
        rrf: {
          retrievers: [
            {
              standard: {
                query: {
                  bool: {
                    must: [{ multi_match: { query: 'refund time', fields: ['title^2', 'text'] } }],
                    filter,
                  },
                },
              },
            },
            { knn: { field: 'embedding', query_vector: [0.6, 0.8, 0], k: 50, num_candidates: 100, filter } },
          ],
          rank_window_size: 50,
          rank_constant: 60,
        },
      },
    });
    // One hit in English for k = 2: a second request fills up from the other languages.
    expect(passages.map((p) => p.id)).toEqual(['a#one']);
    const fillFilter = [
      {
        bool: {
          filter: [{ terms: { tenant: ['acme', '*'] } }, { terms: { tags: ['refund'] } }],
          must_not: [{ term: { language: 'en' } }],
        },
      },
    ];
    const fill = searches[1]?.body as {
      size: number;
      retriever: {
        rrf: {
          retrievers: Array<Record<string, { filter?: unknown; query?: { bool: { filter: unknown } } }>>;
        };
      };
    };
    expect(fill.size).toBe(1);
    expect(fill.retriever.rrf.retrievers[0]?.standard?.query?.bool.filter).toEqual(fillFilter);
    expect(fill.retriever.rrf.retrievers[1]?.knn?.filter).toEqual(fillFilter);
    // Without a tenant only shared chunks; the RRF score of a first-in-both hit normalises to 1.
    await retriever.search('refunds', { k: 1, language: 'en' });
    const shared = requests('POST', /^\/kb\/_search$/).at(-1)?.body as {
      retriever: { rrf: { retrievers: Array<{ standard?: { query: { bool: { filter: unknown[] } } } }> } };
    };
    expect(shared.retriever.rrf.retrievers[0]?.standard?.query.bool.filter[0]).toEqual({
      terms: { tenant: ['*'] },
    });
    expect(passages[0]?.score).toBeCloseTo(1, 5);
  });

  it('reindexes blue/green: builds a new index, then swaps the alias in one atomic call, then drops the old one', async () => {
    const { es, retriever, requests } = setup();
    await retriever.replaceAll([chunk('a#one', 'First generation.')]);
    const first = [...(es.aliases.get('kb') ?? [])][0] as string;
    expect(first).toMatch(/^kb-\d{17}-[a-z0-9]{1,4}$/);
    await retriever.replaceAll([chunk('a#one', 'Second generation.'), chunk('b#two', 'Another.')]);
    const second = [...(es.aliases.get('kb') ?? [])][0] as string;
    expect(second).not.toBe(first);
    const swaps = requests('POST', /^\/_aliases$/);
    expect(swaps[0]?.body).toEqual({ actions: [{ add: { index: first, alias: 'kb' } }] });
    expect(swaps[1]?.body).toEqual({
      actions: [{ remove: { index: first, alias: 'kb' } }, { add: { index: second, alias: 'kb' } }],
    });
    const order = es.requests.map((r) => `${r.method} ${r.path}`);
    const created = order.indexOf(`PUT /${second}`);
    const refreshed = order.indexOf(`GET /${second}/_refresh`);
    const swapped = order.lastIndexOf('POST /_aliases');
    const dropped = order.indexOf(`DELETE /${first}`);
    expect(created).toBeGreaterThan(-1);
    expect([created, refreshed, swapped, dropped], order.join('\n')).toEqual(
      [...[created, refreshed, swapped, dropped]].sort((a, b) => a - b),
    );
    expect(refreshed).toBeGreaterThan(-1);
    expect(dropped).toBeGreaterThan(-1);
    const bulk = requests('POST', /^\/_bulk$/).at(-1)?.body as object[];
    expect(bulk[0]).toEqual({ index: { _index: second, _id: 'a#one' } });
    expect(bulk[1]).toEqual({
      id: 'a#one',
      doc_id: 'a',
      title: 'Second generation',
      text: 'Second generation.',
      source: 'faq.md',
      language: 'en',
      tenant: '*',
      tags: [],
      embedding: [0.6, 0.8, 0],
    });
    expect(es.indices.has(first)).toBe(false);
    expect(await retriever.count()).toBe(2);
  });

  it('keeps the old index serving when the new one fails, and reports each refused document', async () => {
    const { es, retriever } = setup();
    await retriever.replaceAll([chunk('a#one', 'Old content.')]);
    const live = [...(es.aliases.get('kb') ?? [])];
    es.failBulkItem('b#bad', 400);
    const error = await retriever
      .replaceAll([chunk('a#one', 'New content.'), chunk('b#bad', 'Broken.')])
      .catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'rag.elasticsearch_bulk',
      failures: [
        { id: 'b#bad', status: 400, type: 'document_parsing_exception', reason: 'injected failure' },
      ],
    });
    expect([...(es.aliases.get('kb') ?? [])]).toEqual(live);
    expect(es.indices.size).toBe(1); // the half-built index was deleted
    expect((await retriever.search('content', { k: 1 }))[0]?.text).toBe('Old content.');
  });

  it('bulk-indexes in batches, one request in flight, retrying documents refused with 429', async () => {
    const { es, embedder, retriever, requests } = setup({ bulkSize: 2 });
    es.failBulkItem('c', 429, 2);
    const chunks = ['a', 'b', 'c', 'd', 'e'].map((id) => chunk(id, `Entry ${id}.`));
    await retriever.replaceAll(chunks);
    const bulks = requests('POST', /^\/_bulk$/).map((r) =>
      (r.body as Array<{ index?: { _id: string } }>).flatMap((l) => (l.index ? [l.index._id] : [])),
    );
    expect(bulks).toEqual([['a', 'b'], ['c', 'd'], ['c'], ['c'], ['e']]);
    expect(embedder.calls.map((texts) => texts.length)).toEqual([2, 2, 1]);
    expect(await retriever.count()).toBe(5);
  });

  it('never sends a zero vector, which cosine cannot score', async () => {
    const es = createElasticsearchEmulator({ licence: 'enterprise' });
    const retriever = new ElasticsearchRetriever({
      client: es.client,
      embedder: new HashEmbedder(16),
      alias: 'kb',
    });
    await retriever.replaceAll([chunk('a', 'Refunds take five days.'), chunk('stop', 'the of and')]);
    const bulk = es.requests.find((r) => r.path === '/_bulk')?.body as Array<Record<string, unknown>>;
    expect(bulk[1]).toHaveProperty('embedding');
    expect(bulk[3]).not.toHaveProperty('embedding');
    const searches = es.requests.filter((r) => r.path.endsWith('/_search')).length;
    expect(await retriever.search('what is the', { k: 2 })).toEqual([]);
    expect(es.requests.filter((r) => r.path.endsWith('/_search')).length).toBe(searches);
  });

  it('updates and deletes in place through the alias', async () => {
    const { retriever, requests } = setup();
    await retriever.replaceAll([chunk('a', 'One.'), chunk('b', 'Two.')]);
    await retriever.remove(['b', 'missing']);
    const del = requests('POST', /^\/_bulk$/).at(-1)?.body;
    expect(del).toEqual([
      { delete: { _index: 'kb', _id: 'b' } },
      { delete: { _index: 'kb', _id: 'missing' } },
    ]);
    expect(await retriever.count()).toBe(1);
  });

  it('is what createKnowledge builds for knowledge.retriever: elasticsearch, filled once from the sources', async () => {
    const es = createElasticsearchEmulator();
    const config = parseConfig(
      { knowledge: { retriever: 'elasticsearch', storeDir: '/nonexistent-store' } },
      {},
    );
    const knowledge = await createKnowledge(config, {
      elasticsearchClient: es.client,
      embedder: new HashEmbedder(64),
    });
    expect(knowledge.index.name).toBe('elasticsearch');
    expect(await knowledge.index.count()).toBeGreaterThan(100);
    const [best] = await knowledge.retriever.search('忘记密码了怎么办', { k: 3 });
    expect(best?.id).toBe('zh-account#forgot-password');
    // A second hub start finds the alias and does not rebuild it.
    const creates = es.requests.filter((r) => r.method === 'PUT' && /^\/hub-knowledge-/.test(r.path)).length;
    await createKnowledge(config, { elasticsearchClient: es.client, embedder: new HashEmbedder(64) });
    expect(es.requests.filter((r) => r.method === 'PUT' && /^\/hub-knowledge-/.test(r.path)).length).toBe(
      creates,
    );
    expect(
      await knowledge.retriever.search('What is the weather in Paris tomorrow?', { k: 3, language: 'en' }),
    ).toEqual([]);
  });
});

describe('Elasticsearch retriever on a basic licence: request bodies', () => {
  it('reads GET / and GET /_license once, then sends BM25 and kNN as one _msearch with the same filters', async () => {
    const { retriever, requests } = setup({ licence: 'basic' });
    await retriever.replaceAll([
      chunk('a#one', 'Refunds take five days.', { tags: ['refund'] }),
      chunk('b#two', 'Returns are free.', { tags: ['returns'] }),
    ]);
    const passages = await retriever.search('refund time', {
      k: 2,
      language: 'en-US',
      tenant: 'acme',
      tags: ['refund'],
    });
    const filter = [
      { terms: { tenant: ['acme', '*'] } },
      { term: { language: 'en' } },
      { terms: { tags: ['refund'] } },
    ];
    const searches = requests('POST', /^\/kb\/_msearch$/);
    expect(searches[0]?.body).toEqual([
      {},
      {
        size: 50,
        _source: { excludes: ['embedding'] },
        query: {
          bool: { must: [{ multi_match: { query: 'refund time', fields: ['title^2', 'text'] } }], filter },
        },
      },
      {},
      {
        size: 50,
        _source: { excludes: ['embedding'] },
        knn: { field: 'embedding', query_vector: [0.6, 0.8, 0], k: 50, num_candidates: 100, filter },
      },
    ]);
    // The same answer as the rrf retriever gives: one English hit, first in both lists, normalised to 1.
    expect(passages.map((p) => p.id)).toEqual(['a#one']);
    expect(passages[0]?.score).toBeCloseTo(1, 5);
    const fillFilter = [
      {
        bool: {
          filter: [{ terms: { tenant: ['acme', '*'] } }, { terms: { tags: ['refund'] } }],
          must_not: [{ term: { language: 'en' } }],
        },
      },
    ];
    const fill = searches[1]?.body as Array<{
      query?: { bool: { filter: unknown } };
      knn?: { filter: unknown };
    }>;
    expect(fill[1]?.query?.bool.filter).toEqual(fillFilter);
    expect(fill[3]?.knn?.filter).toEqual(fillFilter);
    await retriever.search('returns', { k: 1, language: 'en' });
    expect(requests('GET', /^\/$/)).toHaveLength(1);
    expect(requests('GET', /^\/_license$/)).toHaveLength(1);
    expect(requests('POST', /_search$/)).toEqual([]);
    expect(retriever.hybridMode?.mode).toBe('msearch');
  });

  it('the emulator refuses the rrf retriever with the body Elasticsearch answers a non-compliant licence', async () => {
    const { es } = setup({ licence: 'basic' });
    const refusal = await es.client
      .search({
        index: 'kb',
        ...hybridSearchBody({ query: 'refund', vector: [1, 0, 0], k: 1, candidates: 5 }),
      })
      .catch((error: unknown) => error);
    const reason = 'current license is non-compliant for [Reciprocal Rank Fusion (RRF)]';
    const cause = {
      type: 'security_exception',
      reason,
      'license.expired.feature': 'Reciprocal Rank Fusion (RRF)',
    };
    expect(refusal).toMatchObject({
      statusCode: 403,
      body: { error: { root_cause: [cause], ...cause }, status: 403 },
    });
  });

  it('a refused rrf query (the licence expired) is answered through _msearch with the same passages', async () => {
    const { es, retriever, requests } = setup({ licence: 'enterprise' });
    await retriever.replaceAll([
      chunk('a#one', 'Refunds take five days.'),
      chunk('b#two', 'Returns are free.'),
    ]);
    const before = await retriever.search('refund time', { k: 2, language: 'en' });
    expect(retriever.hybridMode?.mode).toBe('rrf');
    es.setLicence('enterprise', 'expired');
    const order = es.requests.length;
    const after = await retriever.search('refund time', { k: 2, language: 'en' });
    expect(es.requests.slice(order).map((r) => `${r.method} ${r.path}`)).toEqual([
      'POST /kb/_search',
      'GET /',
      'GET /_license',
      'POST /kb/_msearch',
    ]);
    expect(after).toEqual(before);
    expect(retriever.hybridMode).toEqual({
      mode: 'msearch',
      reason: expect.stringContaining('licence enterprise (expired)'),
    });
    await retriever.search('returns', { k: 1, language: 'en' });
    expect(requests('POST', /^\/kb\/_search$/)).toHaveLength(2);
  });
});
