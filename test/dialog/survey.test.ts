import { describe, expect, it } from 'vitest';
import { csatRulesFor } from '../../core/config/analytics-schema';
import { parseConfig } from '../../core/config/load';
import { readRating } from '../../core/dialog/survey';
import { type InboundEvent, renderAsText } from '../../core/types';
import { type ConversationScript, ScriptedConversation } from './harness';

const fixtures = {
  knowledge: [
    {
      keywords: ['invoice', '发票'],
      zh: '可以开具电子发票，请在订单详情页申请。',
      en: 'Electronic invoices can be requested on the order page.',
    },
  ],
};

async function conversationWith(analytics: Record<string, unknown>): Promise<ScriptedConversation> {
  const script: ConversationScript = { name: 'survey', config: { analytics }, turns: [] };
  return ScriptedConversation.create(fixtures, script);
}

const message = (text: string): InboundEvent => ({
  id: 'e1',
  kind: 'message',
  ref: { channel: 'test', tenant: 'default', conversation: 'c' },
  sender: { id: 'u' },
  receivedAt: new Date().toISOString(),
  text,
});

const tap = (id: string): InboundEvent => ({
  ...message(''),
  kind: 'action',
  text: undefined,
  action: { id, title: id },
});

describe('reading a survey answer', () => {
  it('takes a tapped button, the number of a listed choice, or the choice words; nothing else', () => {
    expect(readRating(tap('csat:4'), '1-5', 'en')).toBe(4);
    expect(readRating(message('3'), '1-5', 'en')).toBe(3);
    expect(readRating(message('６'), '1-5', 'en')).toBeUndefined();
    expect(readRating(message('０'), '1-5', 'en')).toBeUndefined();
    // Thumbs: 👍 is 5 and 👎 is 1; listed as "1. 👍 Yes" and "2. 👎 No" where there are no buttons.
    expect(readRating(message('1'), 'thumbs', 'en')).toBe(5);
    expect(readRating(message('2'), 'thumbs', 'en')).toBe(1);
    expect(readRating(message('👎'), 'thumbs', 'en')).toBe(1);
    expect(readRating(message('Yes'), 'thumbs', 'en')).toBe(5);
    expect(readRating(message('满意'), 'thumbs', 'zh')).toBe(5);
    expect(readRating(tap('csat:1'), 'thumbs', 'en')).toBe(1);
    // A thumbs button is no answer to a 1-5 survey and the reverse, and a question is no rating.
    expect(readRating(tap('csat:3'), 'thumbs', 'en')).toBeUndefined();
    expect(readRating(message('can I get an invoice?'), '1-5', 'en')).toBeUndefined();
    expect(readRating(message('5 stars but where is my parcel'), '1-5', 'en')).toBeUndefined();
  });

  it('reads a tenant its own settings, each key left out the section’s', () => {
    const config = parseConfig(
      {
        database: { dataDir: 'memory://' },
        analytics: {
          csat: {
            enabled: true,
            scale: '1-5',
            tenants: { acme: { enabled: false }, beta: { scale: 'thumbs' } },
          },
        },
      },
      {},
    );
    expect(csatRulesFor(config.analytics, 'default')).toEqual({ enabled: true, ask: 'both', scale: '1-5' });
    expect(csatRulesFor(config.analytics, 'acme')).toEqual({ enabled: false, ask: 'both', scale: '1-5' });
    expect(csatRulesFor(config.analytics, 'beta')).toEqual({ enabled: true, ask: 'both', scale: 'thumbs' });
    expect(() =>
      parseConfig({ database: { dataDir: 'memory://' }, analytics: { csat: { scale: 'stars' } } }, {}),
    ).toThrow();
  });
});

describe('the satisfaction survey in a conversation', () => {
  it('asks thumbs after a resolution, as buttons that degrade to a numbered list, and takes "1" as 👍', async () => {
    const c = await conversationWith({ csat: { enabled: true, scale: 'thumbs' } });
    await c.turn({ user: 'can I get an invoice?', expect: {} });
    const glad = await c.turn({ user: 'yes', expect: {} });
    expect(glad.trace.survey).toEqual({ asked: 'thumbs' });
    const content = glad.replies[0]?.content;
    expect(content?.type).toBe('choices');
    if (content?.type !== 'choices') return;
    expect(content.choices).toEqual([
      { id: 'csat:5', title: '👍 Yes' },
      { id: 'csat:1', title: '👎 No' },
    ]);
    expect(renderAsText(content)).toContain('1. 👍 Yes\n2. 👎 No');
    const rated = await c.turn({ user: '1', expect: {} });
    expect(rated.trace.survey).toEqual({ answered: { scale: 'thumbs', score: 5 } });
    expect(c.state.dialog?.survey?.pending).toBeUndefined();
  });

  it('is dropped, not asked again, when the customer writes something else; the message is answered', async () => {
    const c = await conversationWith({ csat: { enabled: true, scale: '1-5' } });
    await c.turn({ user: 'can I get an invoice?', expect: {} });
    expect((await c.turn({ user: 'yes', expect: {} })).trace.survey?.asked).toBe('1-5');
    const next = await c.turn({ user: 'can I get an invoice?', expect: {} });
    expect(next.trace.survey).toBeUndefined();
    expect(next.trace.intent?.name).toBe('faq');
    expect(renderAsText(next.replies[0]?.content ?? { type: 'text', text: '' })).toContain(
      'Electronic invoices',
    );
    const again = await c.turn({ user: 'yes', expect: {} });
    expect(again.trace.signals).toContain('helpful');
    expect(again.trace.survey).toBeUndefined();
  });

  it('asks again only in a new conversation: after abandonAfterMinutes of silence', async () => {
    const c = await conversationWith({ abandonAfterMinutes: 30, csat: { enabled: true } });
    await c.turn({ user: 'can I get an invoice?', expect: {} });
    expect((await c.turn({ user: 'yes', expect: {} })).trace.survey?.asked).toBe('thumbs');
    c.clock += 31 * 60_000;
    await c.turn({ user: 'can I get an invoice?', expect: {} });
    c.clock += 60_000;
    expect((await c.turn({ user: 'yes', expect: {} })).trace.survey?.asked).toBe('thumbs');
  });

  it('is not asked after "did not help", after an "I don\'t know", when off, or at a moment the tenant did not choose', async () => {
    const unhelpful = await conversationWith({ csat: { enabled: true } });
    await unhelpful.turn({ user: 'can I get an invoice?', expect: {} });
    await unhelpful.turn({ user: 'no', expect: {} });
    const bye = await unhelpful.turn({ user: 'no', expect: {} });
    expect(bye.trace.signals).toContain('completed');
    expect(bye.trace.survey).toBeUndefined();

    const off = await conversationWith({ csat: { enabled: true, tenants: { default: { enabled: false } } } });
    await off.turn({ user: 'can I get an invoice?', expect: {} });
    expect((await off.turn({ user: 'yes', expect: {} })).trace.survey).toBeUndefined();

    const onlyAfterAgents = await conversationWith({ csat: { enabled: true, ask: 'after_handoff_solved' } });
    await onlyAfterAgents.turn({ user: 'can I get an invoice?', expect: {} });
    expect((await onlyAfterAgents.turn({ user: 'yes', expect: {} })).trace.survey).toBeUndefined();
    await onlyAfterAgents.turn({ user: 'can I just talk to a real person', expect: {} });
    const solved = await onlyAfterAgents.turn({ helpdesk: { change: 'solved' }, expect: {} });
    expect(solved.trace.survey).toEqual({ asked: 'thumbs' });
    expect(solved.replies[0]?.content.type).toBe('choices');
  });

  it("asks in the customer's language", async () => {
    const c = await conversationWith({ csat: { enabled: true, scale: '1-5' } });
    await c.turn({ user: '可以开发票吗？', expect: {} });
    const glad = await c.turn({ user: '是的', expect: {} });
    expect(glad.trace.survey?.asked).toBe('1-5');
    const content = glad.replies[0]?.content;
    expect(content?.type === 'choices' && content.text).toContain('请为本次服务打分');
  });
});
