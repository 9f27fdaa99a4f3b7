import { describe, expect, it } from 'vitest';
import { EmbeddedRetriever } from '../../core/rag/retrievers/embedded';
import type { KnowledgeChunk } from '../../core/types';

const chunk = (id: string, title: string, text: string, tenant?: string): KnowledgeChunk => ({
  id,
  docId: id.split('#')[0] ?? id,
  title,
  text,
  language: 'en',
  source: `${id}.md`,
  tags: [],
  ...(tenant ? { tenant } : {}),
});

const SHOP = [
  chunk('shop#shipping', 'How long does delivery take?', 'Standard delivery takes 3 to 5 business days.'),
  chunk('shop#returns', 'How do I return an item?', 'Request a return from My Orders within 7 days.'),
  chunk('shop#payment', 'Which payment methods do you accept?', 'We accept Alipay, WeChat Pay and cards.'),
];
const FINANCE = [
  chunk(
    'fin#loan',
    'How do I apply for a loan?',
    'Apply for a personal loan in the app; delivery of funds in 1 day.',
    'bank',
  ),
  chunk(
    'fin#card',
    'What are the card fees?',
    'The card has no annual fee; cash withdrawals cost 1 %.',
    'bank',
  ),
  chunk(
    'fin#wealth',
    'Are wealth products guaranteed?',
    'No product is guaranteed; returns may be lost.',
    'bank',
  ),
];

async function scores(chunks: KnowledgeChunk[], query: string, tenant?: string) {
  const retriever = new EmbeddedRetriever();
  await retriever.replaceAll(chunks);
  return (await retriever.search(query, { k: 3, language: 'en', ...(tenant ? { tenant } : {}) })).map(
    ({ id, score }) => ({ id, score }),
  );
}

describe('tenant scopes of the embedded index', () => {
  it("another tenant's entries leave the shared scores exactly as they were", async () => {
    for (const query of ['how long is delivery', 'can I pay by card', 'return an item']) {
      const alone = await scores(SHOP, query);
      const beside = await scores([...SHOP, ...FINANCE], query);
      expect(beside, query).toEqual(alone);
      // A tenant with no entries of its own searches the shared scope.
      expect(await scores([...SHOP, ...FINANCE], query, 'acme'), query).toEqual(alone);
    }
  });

  it('a tenant sees its own entries and the shared ones, scored among those only', async () => {
    const both = [...SHOP, ...FINANCE];
    const bank = await scores(both, 'card fees', 'bank');
    expect(bank[0]?.id).toBe('fin#card');
    expect(await scores(both, 'card fees')).not.toContainEqual(expect.objectContaining({ id: 'fin#card' }));
    const delivery = await scores(both, 'how long is delivery', 'bank');
    expect(delivery[0]?.id).toBe('shop#shipping');
  });
});
