import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../core/config/load';
import { DialogEngine, emptyState } from '../../core/dialog/engine';
import { loadDialogKit } from '../../core/dialog/setup';
import { EmbeddedRetriever } from '../../core/rag';
import type { ChatRequest, InboundEvent, KnowledgeChunk, LlmClient } from '../../core/types';

const chunk = (id: string, tenant: string | undefined, text: string): KnowledgeChunk => ({
  id,
  docId: id,
  title: `Opening hours (${tenant ?? 'shared'})`,
  text,
  language: 'en',
  source: `${id}.md`,
  tags: [],
  tenant,
});

const ask = (tenant: string, text: string): InboundEvent => ({
  id: `test:${tenant}:${text}`,
  kind: 'message',
  ref: { channel: 'test', tenant, conversation: 'c1' },
  sender: { id: 'u1' },
  receivedAt: new Date().toISOString(),
  text,
});

describe('dialog engine retrieval', () => {
  it("answers from the conversation's tenant and shared knowledge, never from another tenant's", async () => {
    const retriever = new EmbeddedRetriever();
    await retriever.index([
      chunk('acme-hours', 'acme', 'Acme stores open from 8 am to 8 pm every day, holidays included.'),
      chunk('globex-hours', 'globex', 'Globex stores open from 10 am to 6 pm, closed on Sundays.'),
    ]);
    const searches: Array<{ tenant?: string; found: string[] }> = [];
    const spy = {
      index: retriever.index.bind(retriever),
      count: retriever.count.bind(retriever),
      search: async (query: string, options?: { tenant?: string; k?: number; language?: string }) => {
        const found = await retriever.search(query, options);
        searches.push({ tenant: options?.tenant, found: found.map((p) => p.id) });
        return found;
      },
    };
    const config = parseConfig({}, {});
    const engine = new DialogEngine({ config, retriever: spy, dialog: await loadDialogKit(config) });
    await engine.respond(ask('acme', 'What are the store opening hours?'), emptyState('k1'));
    await engine.respond(ask('globex', 'What are the store opening hours?'), emptyState('k2'));
    expect(searches).toEqual([
      { tenant: 'acme', found: ['acme-hours'] },
      { tenant: 'globex', found: ['globex-hours'] },
    ]);
  });
});

describe('dialog engine and the LLM', () => {
  it('tells the model router the tenant, intent and task of each request', async () => {
    const retriever = new EmbeddedRetriever();
    await retriever.index([
      chunk('pay', undefined, 'Payment methods: we accept Alipay, WeChat Pay and all major credit cards.'),
      chunk('ship', undefined, 'Standard shipping takes three to five days within mainland China.'),
      chunk('invoice', undefined, 'Electronic invoices can be requested from the order page after delivery.'),
      chunk('warranty', undefined, 'Electronics carry a one-year warranty from the date of delivery.'),
    ]);
    const requests: ChatRequest[] = [];
    const llm: LlmClient = {
      available: () => true,
      chat: async (request) => {
        requests.push(request);
        return { text: 'Alipay, WeChat Pay and cards [1].', toolCalls: [], model: 'm', finishReason: 'stop' };
      },
    };
    const config = parseConfig({ dialog: { llmIntents: false } }, {});
    const engine = new DialogEngine({ config, retriever, llm, dialog: await loadDialogKit(config) });
    const result = await engine.respond(
      ask('acme', 'Which payment methods do you accept?'),
      emptyState('k3'),
    );
    expect(result.replies[0]?.source).toBe('llm');
    const answer = requests.find((r) => r.route?.task === 'answer');
    expect(answer?.route).toMatchObject({ task: 'answer', tenant: 'acme', intent: 'faq' });
    expect(answer?.route?.confidence).toBeGreaterThan(0.5);
  });
});
