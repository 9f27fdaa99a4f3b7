import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../core/config/load';
import { AnsweringRetriever } from '../../core/rag/answering-retriever';
import { evaluate, formatEval, isRelevant } from '../../core/rag/eval';
import { extractiveAnswer } from '../../core/rag/extractive';
import { createKnowledge, type Knowledge } from '../../core/rag/index';
import { OpenAiEmbedder } from '../../core/rag/openai-embedder';
import { buildRagMessages } from '../../core/rag/prompt';
import { HttpReranker } from '../../core/rag/reranker';
import { EmbeddedRetriever } from '../../core/rag/retrievers/embedded';
import type { KnowledgeChunk } from '../../core/types';
import { type OpenAiEmulator, startOpenAiEmulator } from '../emulators/openai-emulator';
import { type RerankEmulator, startRerankEmulator } from '../emulators/rerank-emulator';

const embeddingsConfig = (baseUrl: string, over: Record<string, unknown> = {}) =>
  parseConfig(
    { knowledge: { embeddings: { baseUrl, dimensions: 256, batchSize: 3, maxRetries: 2, ...over } } },
    {},
  ).knowledge.embeddings as NonNullable<ReturnType<typeof parseConfig>['knowledge']['embeddings']>;

describe('OpenAI-compatible embeddings client', () => {
  let emulator: OpenAiEmulator;
  beforeAll(async () => {
    emulator = await startOpenAiEmulator({ embeddingDimensions: 256 });
  });
  afterAll(() => emulator.close());

  it('embeds in batches, in order, normalised, and retries 429 with Retry-After', async () => {
    emulator.reset();
    emulator.fail({ status: 429, retryAfter: 0, endpoint: 'embeddings' });
    const embedder = new OpenAiEmbedder(embeddingsConfig(emulator.url));
    const texts = ['refund', '退款', 'shipping', 'invoice', ''];
    const vectors = await embedder.embed(texts);
    expect(vectors).toHaveLength(5);
    for (const v of vectors.slice(0, 4)) expect(Math.hypot(...v)).toBeCloseTo(1, 6);
    const bodies = emulator.requests
      .filter((r) => r.path === '/v1/embeddings')
      .map((r) => r.body as { input: string[]; model: string; dimensions?: number });
    // 429 then the retried first batch, then the second batch.
    expect(bodies.map((b) => b.input)).toEqual([
      ['refund', '退款', 'shipping'],
      ['refund', '退款', 'shipping'],
      ['invoice', ' '],
    ]);
    expect(bodies[0]).toMatchObject({ model: 'BAAI/bge-m3' });
    expect(bodies[0]).not.toHaveProperty('dimensions');
    const again = await embedder.embed(['shipping']);
    expect(again[0]).toEqual(vectors[2]);
  });

  it('fails clearly on a dimension mismatch and on a server that keeps failing', async () => {
    emulator.reset();
    const wrong = new OpenAiEmbedder(embeddingsConfig(emulator.url, { dimensions: 1024 }));
    await expect(wrong.embed(['x'])).rejects.toMatchObject({ code: 'rag.embeddings_dimensions' });
    emulator.fail({ status: 503, times: 5, endpoint: 'embeddings' });
    const failing = new OpenAiEmbedder(embeddingsConfig(emulator.url, { maxRetries: 1 }));
    await expect(failing.embed(['x'])).rejects.toMatchObject({ code: 'rag.embeddings', retryable: true });
  });

  it('drives the embedded retriever end to end when configured', async () => {
    emulator.reset();
    const config = parseConfig(
      { knowledge: { embeddings: { baseUrl: emulator.url, dimensions: 256 }, storeDir: '/nonexistent' } },
      {},
    );
    const knowledge = await createKnowledge(config, { watchMs: 0 });
    expect(emulator.requests.some((r) => r.path === '/v1/embeddings')).toBe(true);
    const [best] = await knowledge.retriever.search('I forgot my password', { k: 3 });
    expect(best?.id).toBe('en-account#forgot-password');
    await knowledge.close();
  });
});

describe('rerank, threshold and citations', () => {
  let reranker: RerankEmulator;
  let knowledge: Knowledge;
  beforeAll(async () => {
    reranker = await startRerankEmulator();
    knowledge = await createKnowledge(parseConfig({ knowledge: { storeDir: '/nonexistent' } }, {}), {
      watchMs: 0,
    });
  });
  afterAll(async () => {
    await reranker.close();
    await knowledge.close();
  });

  it('reranks candidates with a TEI or OpenAI-style endpoint and retries 429', async () => {
    for (const style of ['tei', 'openai'] as const) {
      const baseUrl = style === 'tei' ? reranker.url : `${reranker.url}/v1`;
      const http = new HttpReranker(
        parseConfig({ knowledge: { rerank: { baseUrl, style } } }, {}).knowledge.rerank as never,
      );
      reranker.fail(429, 1, '0');
      const scores = await http.rerank('refund card', [
        'We refund to the original card.',
        'Shipping is free.',
      ]);
      expect(scores[0]).toBeGreaterThan(0.5);
      expect(scores[1]).toBeLessThan(0.1);
    }
    const teiBody = reranker.requests.find((r) => r.path === '/rerank')?.body;
    expect(teiBody).toEqual({
      query: 'refund card',
      texts: ['We refund to the original card.', 'Shipping is free.'],
      raw_scores: false,
    });
    expect(reranker.requests.find((r) => r.path === '/v1/rerank')?.body).toEqual({
      model: 'BAAI/bge-reranker-v2-m3',
      query: 'refund card',
      documents: ['We refund to the original card.', 'Shipping is free.'],
      top_n: 2,
    });
  });

  it('puts the reranked best first, and below the threshold returns nothing so the bot offers a human', async () => {
    const http = new HttpReranker(
      parseConfig({ knowledge: { rerank: { baseUrl: reranker.url } } }, {}).knowledge.rerank as never,
    );
    const answering = new AnsweringRetriever(knowledge.index, {
      reranker: http,
      minScore: 0.3,
      candidates: 10,
    });
    const passages = await answering.search('How do I get a company fapiao with our tax number?', {
      k: 3,
      language: 'en',
    });
    expect(passages[0]?.id).toBe('en-invoices#company-invoice');
    expect(passages.length).toBeLessThanOrEqual(3);
    expect(
      await answering.search('What is the weather in Paris tomorrow?', { k: 3, language: 'en' }),
    ).toEqual([]);
    const answer = extractiveAnswer('What is the weather in Paris tomorrow?', [], 'en');
    expect(answer.text).toMatch(/don't know/);
    expect(answer.text).toMatch(/agent/);
    expect(answer.citations).toEqual([]);
    const prompt = buildRagMessages({
      question: 'weather?',
      passages: [],
      language: 'en',
      budgetTokens: 2000,
    });
    expect(prompt.messages[0]?.content).toMatch(/human agent/);
    // A failing reranker degrades to retrieval order with the index's own threshold.
    reranker.fail(500, 3);
    const degraded = new AnsweringRetriever(knowledge.index, {
      reranker: http,
      minScore: 0.3,
      fallbackMinScore: 0.18,
    });
    expect((await degraded.search('I forgot my password', { k: 2, language: 'en' }))[0]?.id).toBe(
      'en-account#forgot-password',
    );
  });

  it('applies the measured threshold without a reranker and cites titles and links', async () => {
    expect(
      await knowledge.retriever.search('What is the weather in Paris tomorrow?', { k: 3, language: 'en' }),
    ).toEqual([]);
    const index = new EmbeddedRetriever();
    const chunk: KnowledgeChunk = {
      id: 'care#wash',
      docId: 'care',
      title: 'How do I wash the jacket?',
      text: 'Wash the jacket cold and hang it to dry.',
      language: 'en',
      source: 'care.html',
      tags: [],
      url: 'https://shop.example/care',
    };
    await index.replaceAll([chunk]);
    const passages = await new AnsweringRetriever(index, { minScore: 0.18 }).search(
      'how do I wash the jacket',
      {
        k: 2,
      },
    );
    const answer = extractiveAnswer('how do I wash the jacket', passages, 'en');
    expect(answer.citations).toEqual([
      {
        id: 'care#wash',
        title: 'How do I wash the jacket?',
        source: 'care.html',
        url: 'https://shop.example/care',
      },
    ]);
    expect(
      buildRagMessages({ question: 'wash?', passages, language: 'en', budgetTokens: 2000 }).citations[0]?.url,
    ).toBe('https://shop.example/care');
  });
});

describe('evaluation metrics', () => {
  it('computes Recall@1/5/10 and MRR per language and set', async () => {
    const fixed = (ids: string[]) => ({
      index: async () => {},
      count: async () => ids.length,
      search: async () =>
        ids.map((id, i) => ({
          id,
          docId: id.split('#')[0] ?? id,
          title: id,
          text: id,
          language: 'en',
          source: 's',
          tags: [],
          score: 1 - i / 20,
        })),
    });
    const rows = await evaluate(fixed(['d#x', 'd#y', 'e#z', 'f#1', 'f#2', 'f#3']), [
      { query: 'q1', relevant: ['d#x'], language: 'en' },
      { query: 'q2', relevant: ['e#z'], language: 'en' },
      { query: 'q3', relevant: ['f#3', 'nowhere'], language: 'zh', set: 'held-out' },
      { query: 'q4', relevant: ['missing'], language: 'zh' },
    ]);
    const all = rows.find((r) => r.label === 'all');
    expect(all).toMatchObject({ queries: 4, recallAt1: 0.25, recallAt5: 0.5, recallAt10: 0.625 });
    expect(all?.mrr).toBeCloseTo((1 + 1 / 3 + 1 / 6 + 0) / 4, 10);
    expect(rows.map((r) => r.label)).toEqual(['all', 'en', 'zh', 'held-out', 'held-out/zh']);
    expect(formatEval(rows).split('\n')[0]).toMatch(
      /^set\s+answerable\s+R@1\s+R@5\s+R@10\s+MRR\s+unanswerable$/,
    );
    expect(isRelevant({ id: 'a#b~2', docId: 'a' } as never, 'a#b')).toBe(true);
    expect(isRelevant({ id: 'a#bc', docId: 'a' } as never, 'a#b')).toBe(false);
  });
});
