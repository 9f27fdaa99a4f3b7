import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../core/config/load';
import { createIndex } from '../../core/rag';
import type { Embedder } from '../../core/rag/embedder';
import { HashEmbedder } from '../../core/rag/hash-embedder';
import type { KnowledgeIndex } from '../../core/rag/knowledge-index';
import { loadKnowledge } from '../../core/rag/load';
import {
  type AnyRetrieverDescriptor,
  type RetrieverContext,
  type RetrieverRegistry,
  retrievers,
} from '../../core/rag/retrievers';
import type { KnowledgeChunk } from '../../core/types';

export interface RetrieverUnderTest {
  /** The block `knowledge.<name>`, and what else a fresh index needs (a new alias, a new emulator). */
  fresh(): { options?: Record<string, unknown>; context?: Omit<RetrieverContext, 'embedder'> };
  cleanup?(made: KnowledgeIndex[]): Promise<void>;
}

/** An embedder that yields to the event loop, so concurrent searches interleave with a rebuild. */
class SlowEmbedder implements Embedder {
  readonly name = 'slow-hash';
  private readonly inner = new HashEmbedder(256);
  readonly dimensions = 256;
  async embed(texts: string[]): Promise<number[][]> {
    await new Promise((resolve) => setTimeout(resolve, 2));
    return this.inner.embed(texts);
  }
}

const chunk = (over: Partial<KnowledgeChunk> & { id: string; text: string }): KnowledgeChunk => ({
  docId: over.id.split('#')[0] ?? over.id,
  title: over.title ?? over.text.slice(0, 30),
  language: 'en',
  source: 'test.md',
  tags: [],
  ...over,
});

/**
 * Every retriever passes this suite, its index built from its descriptor as the hub builds it
 * (`knowledge.retriever: <name>`): the embedded one, Elasticsearch on the emulator and on a real
 * cluster when ELASTICSEARCH_URL is set, and any retriever registered with `retrievers.with(...)`.
 */
export function retrieverConformance(
  label: string,
  descriptor: AnyRetrieverDescriptor,
  subject: RetrieverUnderTest,
  registry: RetrieverRegistry = retrievers,
) {
  const { name } = descriptor;
  describe(`retriever conformance: ${label}`, () => {
    let demo: KnowledgeChunk[];
    const made: KnowledgeIndex[] = [];
    const make = async (embedder: Embedder = new HashEmbedder(256)) => {
      const { options = {}, context = {} } = subject.fresh();
      const config = parseConfig({ knowledge: { retriever: name, [name]: options } }, {});
      const index = await createIndex(config, { ...context, embedder, retrievers: registry });
      made.push(index);
      return index;
    };
    beforeAll(async () => {
      demo = await loadKnowledge(path.resolve('knowledge'));
    });
    afterAll(async () => {
      await subject.cleanup?.(made);
      for (const index of made) await index.close();
    });

    it('is registered under its name and builds an index that says that name', async () => {
      expect(registry.get(name)).toBe(descriptor);
      expect((await make()).name).toBe(name);
    });

    it('answers nothing before anything is indexed', async () => {
      const index = await make();
      expect(await index.count()).toBe(0);
      expect(await index.search('refund')).toEqual([]);
    });

    it('finds the right entry in both languages, scores descending in (0, 1]', async () => {
      const index = await make();
      await index.replaceAll(demo);
      expect(await index.count()).toBe(demo.length);
      const cases: Array<[string, string, string]> = [
        ['I forgot my password', 'en', 'en-account#forgot-password'],
        ['can I pay in installments', 'en', 'instalments'],
        ['忘记密码了怎么办', 'zh', 'forgot-password'],
        ['可以开发票吗', 'zh', 'get-fapiao'],
      ];
      for (const [question, language, expected] of cases) {
        const passages = await index.search(question, { k: 4 });
        expect(passages.length).toBe(4);
        expect(passages[0]?.id.endsWith(expected.includes('#') ? expected : `#${expected}`), question).toBe(
          true,
        );
        expect(passages.every((p) => p.language === language)).toBe(true);
        const scores = passages.map((p) => p.score);
        expect([...scores].sort((a, b) => b - a)).toEqual(scores);
        expect(scores.every((s) => s > 0 && s <= 1)).toBe(true);
        expect(passages[0]).toMatchObject({
          title: expect.any(String),
          source: expect.stringMatching(/\.md$/),
          text: expect.any(String),
        });
        expect(passages[0]).not.toHaveProperty('embedding');
      }
      // The asked language first; another language only fills up when it has fewer than k hits (a
      // lexical index finds few Chinese passages for an English question, a vector leg always k).
      const asked = await index.search('I forgot my password', { k: 3, language: 'zh' });
      const languages = asked.map((p) => p.language);
      expect(languages[0]).toBe('zh');
      expect(languages.slice(languages.lastIndexOf('zh') + 1).every((l) => l !== 'zh')).toBe(true);
      expect(languages.slice(0, languages.lastIndexOf('zh') + 1).every((l) => l === 'zh')).toBe(true);
    });

    it('fills up with other languages, keeps tenants apart and filters by tags', async () => {
      const index = await make();
      await index.replaceAll([
        chunk({ id: 'a#warranty', text: 'Phones carry a two year warranty.', tags: ['warranty'] }),
        chunk({
          id: 'b#warranty-zh',
          text: '手机保修两年（warranty）。',
          language: 'zh',
          tags: ['warranty'],
        }),
        chunk({
          id: 'c#acme',
          text: 'Acme customers get a three year warranty.',
          tenant: 'acme',
          url: 'https://acme.example/warranty',
        }),
        chunk({ id: 'd#other', text: 'Other tenant warranty secrets.', tenant: 'other' }),
      ]);
      const shared = await index.search('warranty', { k: 5, language: 'en' });
      expect(shared.map((p) => p.id)).toEqual(['a#warranty', 'b#warranty-zh']);
      const acme = await index.search('warranty', { k: 5, language: 'en', tenant: 'acme' });
      expect(acme.map((p) => p.id).sort()).toEqual(['a#warranty', 'b#warranty-zh', 'c#acme']);
      expect(acme.find((p) => p.id === 'c#acme')).toMatchObject({
        tenant: 'acme',
        url: 'https://acme.example/warranty',
      });
      expect(acme.slice(0, 2).every((p) => p.language === 'en')).toBe(true);
      const tagged = await index.search('warranty', {
        k: 5,
        language: 'en',
        tenant: 'acme',
        tags: ['warranty'],
      });
      expect(tagged.map((p) => p.id)).toEqual(['a#warranty', 'b#warranty-zh']);
    });

    it('updates in place by id and removes by id', async () => {
      const index = await make();
      await index.replaceAll([
        chunk({ id: 'x#one', text: 'Gift cards never expire.' }),
        chunk({ id: 'x#two', text: 'Parcels ship from Shanghai.' }),
      ]);
      await index.index([
        chunk({ id: 'x#one', text: 'Gift cards expire after three years.' }),
        chunk({ id: 'x#three', text: 'Gift wrapping is free.' }),
      ]);
      expect(await index.count()).toBe(3);
      const hits = await index.search('gift cards expire', { k: 1 });
      expect(hits[0]?.text).toBe('Gift cards expire after three years.');
      await index.remove(['x#one', 'x#unknown']);
      expect(await index.count()).toBe(2);
      expect((await index.search('gift cards expire', { k: 5 })).map((p) => p.id)).not.toContain('x#one');
    });

    it('never returns empty results to queries that run during a reindex', async () => {
      const index = await make(new SlowEmbedder());
      await index.replaceAll(demo.slice(0, 40));
      let done = false;
      const rebuild = index.replaceAll(demo).finally(() => {
        done = true;
      });
      let queries = 0;
      while (!done) {
        const hits = await index.search('how long does shipping take', { k: 3, language: 'en' });
        expect(hits.length).toBeGreaterThan(0);
        queries++;
      }
      await rebuild;
      expect(queries).toBeGreaterThan(1);
      expect(await index.count()).toBe(demo.length);
    });
  });
}
