import path from 'node:path';
import { Client } from '@elastic/elasticsearch';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { logger } from '../../core/log';
import { registry } from '../../core/metrics';
import { reciprocalRankFusion } from '../../core/rag/fusion';
import { HashEmbedder } from '../../core/rag/hash-embedder';
import { loadKnowledge } from '../../core/rag/load';
import {
  type ClusterFacts,
  chooseHybridMode,
  detectCluster,
} from '../../core/rag/retrievers/elasticsearch/cluster';
import { ElasticsearchRetriever } from '../../core/rag/retrievers/elasticsearch/retriever';
import type { KnowledgeChunk } from '../../core/types';
import {
  createElasticsearchEmulator,
  type ElasticsearchEmulator,
  type LicenceType,
} from '../emulators/elasticsearch-emulator';
import { EVAL_QUESTIONS, OFF_TOPIC } from './rag-questions';

const chunk = (id: string, text: string): KnowledgeChunk => ({
  id,
  docId: id.split('#')[0] ?? id,
  title: text.split('.')[0] ?? text,
  text,
  language: 'en',
  source: 'faq.md',
  tags: [],
});

const FEW = [
  chunk('a#refunds', 'Refunds take five days.'),
  chunk('b#returns', 'Returns are free within thirty days.'),
  chunk('c#shipping', 'Shipping takes two days.'),
];

function retrieverOn(es: ElasticsearchEmulator, extra: { licenceRecheckMs?: number } = {}) {
  return new ElasticsearchRetriever({
    client: es.client,
    embedder: new HashEmbedder(64),
    alias: 'kb',
    ...extra,
  });
}

const count = (es: ElasticsearchEmulator, method: string, pathname: RegExp) =>
  es.requests.filter((r) => r.method === method && pathname.test(r.path)).length;

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('Elasticsearch hybrid mode: choosing by licence and version', () => {
  const facts = (licence: ClusterFacts['licence'], more: Partial<ClusterFacts> = {}): ClusterFacts => ({
    version: '9.5.7',
    flavor: 'default',
    licence,
    ...more,
  });

  it('uses the rrf retriever only on an active enterprise or trial licence', () => {
    const cases: Array<[ClusterFacts, 'rrf' | 'msearch']> = [
      [facts({ type: 'basic', status: 'active' }), 'msearch'],
      [facts({ type: 'gold', status: 'active' }), 'msearch'],
      [facts({ type: 'platinum', status: 'active' }), 'msearch'],
      [facts({ type: 'enterprise', status: 'active' }), 'rrf'],
      [facts({ type: 'trial', status: 'active' }), 'rrf'],
      [facts({ type: 'enterprise', status: 'expired' }), 'msearch'],
      [facts({ type: 'trial', status: 'expired' }), 'msearch'],
      [facts({ type: 'enterprise', status: 'active' }, { version: '8.13.4' }), 'msearch'],
      [facts({ type: 'enterprise', status: 'active' }, { version: '8.14.0' }), 'rrf'],
      [facts(undefined, { licenceUnreadable: '403 security_exception' }), 'msearch'],
      [
        facts(undefined, { flavor: 'serverless', licenceUnreadable: '410 api_not_available_exception' }),
        'rrf',
      ],
    ];
    for (const [given, mode] of cases) expect(chooseHybridMode(given).mode, JSON.stringify(given)).toBe(mode);
    expect(chooseHybridMode(facts({ type: 'basic', status: 'active' })).reason).toBe(
      'licence basic (active) does not include the rrf retriever (an active enterprise or trial licence does)',
    );
  });

  it('reads the version from GET / and the licence from GET /_license', async () => {
    const es = createElasticsearchEmulator({ licence: 'trial', version: '9.6.0' });
    expect(await detectCluster(es.client)).toEqual({
      version: '9.6.0',
      flavor: 'default',
      licence: { type: 'trial', status: 'active' },
    });
  });

  it('falls back to _msearch when the credentials may not read the licence', async () => {
    const es = createElasticsearchEmulator({ licence: 'enterprise' });
    es.denyMonitor();
    const facts = await detectCluster(es.client);
    expect(facts).toEqual({ licenceUnreadable: '403 security_exception' });
    expect(chooseHybridMode(facts).mode).toBe('msearch');
  });

  it('a cluster that does not answer fails the query retryably and is asked again by the next one', async () => {
    const client = new Client({ node: 'http://127.0.0.1:9', maxRetries: 0, requestTimeout: 2000 });
    const retriever = new ElasticsearchRetriever({ client, embedder: new HashEmbedder(64), alias: 'kb' });
    await expect(detectCluster(client)).rejects.toThrow();
    const error = await retriever.search('refund', { k: 1 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'rag.elasticsearch', retryable: true });
    expect(retriever.hybridMode).toBeUndefined();
    await retriever.close();
  });
});

describe('Elasticsearch hybrid mode: detected once, healed on a licence change', () => {
  it('reads the licence once per retriever, at start, however many queries run', async () => {
    const es = createElasticsearchEmulator({ licence: 'enterprise' });
    const retriever = retrieverOn(es);
    expect(await retriever.detectHybridMode()).toEqual({
      mode: 'rrf',
      reason: 'licence enterprise (active)',
    });
    await retriever.replaceAll(FEW);
    await Promise.all(
      ['refund', 'returns', 'shipping', 'refund time'].map((q) => retriever.search(q, { k: 2 })),
    );
    await retriever.search('free returns', { k: 2 });
    expect(count(es, 'GET', /^\/_license$/)).toBe(1);
    expect(count(es, 'GET', /^\/$/)).toBe(1);
  });

  it('logs the mode once and shows it as hub_rag_hybrid_mode', async () => {
    const info = vi.spyOn(logger, 'info');
    const es = createElasticsearchEmulator({ licence: 'basic' });
    const retriever = retrieverOn(es);
    await retriever.replaceAll(FEW);
    for (const q of ['refund', 'returns', 'shipping']) await retriever.search(q, { k: 2 });
    const chosen = info.mock.calls.filter(([, message]) =>
      String(message).startsWith('Elasticsearch hybrid search'),
    );
    expect(chosen).toHaveLength(1);
    expect(chosen[0]?.[0]).toMatchObject({ mode: 'msearch', version: '9.5.7', licence: { type: 'basic' } });
    const metric = await registry.getSingleMetricAsString('hub_rag_hybrid_mode');
    expect(metric).toContain('hub_rag_hybrid_mode{mode="msearch"} 1');
    expect(metric).toContain('hub_rag_hybrid_mode{mode="rrf"} 0');
  });

  it('concurrent queries refused for the licence read it again once, and all are answered', async () => {
    const es = createElasticsearchEmulator({ licence: 'trial' });
    const retriever = retrieverOn(es);
    await retriever.replaceAll(FEW);
    const before = await Promise.all(
      ['refund', 'returns', 'shipping'].map((q) => retriever.search(q, { k: 2 })),
    );
    es.setLicence('basic'); // the trial ended and the cluster reverted to basic
    const after = await Promise.all(
      ['refund', 'returns', 'shipping'].map((q) => retriever.search(q, { k: 2 })),
    );
    expect(after).toEqual(before);
    expect(after.every((passages) => passages.length > 0)).toBe(true);
    expect(count(es, 'GET', /^\/_license$/)).toBe(2);
    expect(retriever.hybridMode?.mode).toBe('msearch');
    const refused = count(es, 'POST', /\/_search$/);
    await retriever.search('refund', { k: 2 });
    expect(count(es, 'POST', /\/_search$/)).toBe(refused);
  });

  it('picks up an upgrade at the next licence check and moves to the rrf retriever', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const es = createElasticsearchEmulator({ licence: 'basic' });
    const retriever = retrieverOn(es, { licenceRecheckMs: 60_000 });
    await retriever.replaceAll(FEW);
    const onBasic = await retriever.search('refund time', { k: 2 });
    es.setLicence('enterprise');
    await retriever.search('refund time', { k: 2 });
    expect(retriever.hybridMode?.mode).toBe('msearch');
    vi.setSystemTime(Date.now() + 60_000);
    const onEnterprise = await retriever.search('refund time', { k: 2 });
    expect(retriever.hybridMode?.mode).toBe('rrf');
    expect(count(es, 'GET', /^\/_license$/)).toBe(2);
    expect(count(es, 'POST', /^\/kb\/_search$/)).toBe(1);
    expect(onEnterprise).toEqual(onBasic);
  });
});

describe('Elasticsearch hybrid mode: both paths rank alike', () => {
  let demo: KnowledgeChunk[];
  beforeAll(async () => {
    demo = await loadKnowledge(path.resolve('knowledge'));
  });

  const built = async (licence: LicenceType) => {
    const es = createElasticsearchEmulator({ licence });
    const retriever = new ElasticsearchRetriever({
      client: es.client,
      embedder: new HashEmbedder(256),
      alias: 'kb',
    });
    await retriever.replaceAll(demo);
    return { es, retriever };
  };

  it('gives the same passages, order and scores on every fixture question, and the same "don\'t know"', async () => {
    const rrf = await built('enterprise');
    const msearch = await built('basic');
    let sameTop = 0;
    for (const q of EVAL_QUESTIONS) {
      const a = await rrf.retriever.search(q.question, { k: 4, language: q.language });
      const b = await msearch.retriever.search(q.question, { k: 4, language: q.language });
      expect(
        b.map((p) => p.id),
        q.question,
      ).toEqual(a.map((p) => p.id));
      for (const [i, p] of b.entries()) expect(p.score, q.question).toBeCloseTo(a[i]?.score ?? Number.NaN, 9);
      if (a[0] && a[0].id === b[0]?.id) sameTop++;
    }
    expect(sameTop).toBe(EVAL_QUESTIONS.length);
    // The "don't know" threshold (the descriptor's 0.51) decides alike on both paths.
    for (const q of OFF_TOPIC) {
      const [a] = await rrf.retriever.search(q.question, { k: 1, language: q.language });
      const [b] = await msearch.retriever.search(q.question, { k: 1, language: q.language });
      expect((b?.score ?? 0) >= 0.51, q.question).toBe((a?.score ?? 0) >= 0.51);
    }
    expect(count(rrf.es, 'POST', /_msearch$/)).toBe(0);
    expect(count(msearch.es, 'POST', /\/_search$/)).toBe(0);
  });

  it('fuses as Elasticsearch does: 1 / (60 + rank) per list within the window, ties to the smaller id', () => {
    const fused = reciprocalRankFusion(
      [
        ['a', 'b', 'c'],
        ['c', 'a', 'd'],
      ],
      { rankConstant: 60, window: 2 },
    );
    // Third places fall outside the window: 'c' counts once (first in the second list), 'd' not at all.
    expect(fused.map((f) => f.id)).toEqual(['a', 'c', 'b']);
    expect(fused[0]?.score).toBeCloseTo(1 / 61 + 1 / 62, 12);
    expect(fused[1]?.score).toBeCloseTo(1 / 61, 12);
    expect(fused[2]?.score).toBeCloseTo(1 / 62, 12);
    // Equal scores: the smaller id first, whichever list it came from.
    expect(reciprocalRankFusion([['y'], ['x']], { rankConstant: 60, window: 5 }).map((f) => f.id)).toEqual([
      'x',
      'y',
    ]);
  });
});
