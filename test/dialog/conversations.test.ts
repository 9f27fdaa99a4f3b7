import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Fixtures, readScript, ScriptedConversation } from './harness';

const DIR = 'test/dialog/conversations';

/** Fixture data every script sees unless it brings its own. */
const defaults: Fixtures = {
  orders: {
    AB12345678: { status: { zh: '已发货', en: 'shipped' }, detail: 'SF1234567890' },
    CD87654321: { status: { zh: '待发货', en: 'awaiting dispatch' } },
  },
  knowledge: [
    {
      keywords: ['发货', 'shipping', 'ship'],
      zh: '下单后 48 小时内发货，一般 3-5 天送达。',
      en: 'Orders ship within 48 hours and arrive in 3-5 days.',
    },
    {
      keywords: ['退货', 'return'],
      zh: '签收后 7 天内可无理由退货，运费由买家承担。',
      en: 'You can return items within 7 days of delivery; return postage is yours.',
    },
    {
      keywords: ['发票', 'invoice'],
      zh: '可以开具电子发票，请在订单详情页申请。',
      en: 'Electronic invoices can be requested on the order page.',
    },
    {
      keywords: ['付款', 'payment', 'pay'],
      zh: '支持支付宝、微信支付和银行卡。',
      en: 'We accept Alipay, WeChat Pay and cards.',
    },
  ],
};

const files = readdirSync(DIR)
  .filter((f) => f.endsWith('.yaml'))
  .sort();

describe('scripted conversations through the dialog engine', () => {
  it('has at least 20 scripts in both languages', () => {
    expect(files.length).toBeGreaterThanOrEqual(20);
  });

  for (const file of files) {
    const script = readScript(join(DIR, file));
    it(`${file}: ${script.name}`, async () => {
      const conversation = await ScriptedConversation.create({ ...defaults, ...script.fixtures }, script);
      for (const [index, turn] of script.turns.entries()) {
        conversation.clock += (turn.after ?? 1) * 60_000;
        if (turn.handoffBefore) {
          conversation.state = {
            ...conversation.state,
            handoff: turn.handoffBefore,
            dialog: conversation.state.dialog && {
              ...conversation.state.dialog,
              handoffAt: new Date(conversation.clock).toISOString(),
            },
          };
        }
        const out = await conversation.turn(turn);
        const { trace, state } = out;
        const where = `${file} turn ${index + 1} "${turn.user ?? JSON.stringify(turn.tap ?? turn.helpdesk)}"`;
        const e = turn.expect;
        const shown = JSON.stringify(
          {
            intent: trace.intent?.name,
            decision: trace.decision,
            replies: trace.texts,
            keys: trace.replyKeys,
            signals: trace.signals,
            handoff: state.handoff,
            query: trace.query,
            retrieved: trace.retrieved.map((r) => r.id),
          },
          null,
          1,
        );
        const at = `${where}\n${shown}`;
        if (e.intent !== undefined) expect(trace.intent?.name, at).toBe(e.intent);
        if (e.decision !== undefined) expect(trace.decision?.type, at).toBe(e.decision);
        if (e.reason !== undefined) expect((trace.decision as { reason?: string }).reason, at).toBe(e.reason);
        if (e.replies !== undefined) {
          expect(trace.texts.length, at).toBe(e.replies.length);
          for (const [i, part] of e.replies.entries()) expect(trace.texts[i], at).toContain(part);
          // What the channel gets: one message holding every part, or nothing.
          expect(out.replies.length, at).toBe(e.replies.length ? 1 : 0);
        }
        if (e.replyKeys !== undefined) expect(trace.replyKeys, at).toEqual(e.replyKeys);
        if (e.actions !== undefined) {
          expect(
            trace.actions.map((a) => a.action),
            at,
          ).toEqual(e.actions.map((a) => (typeof a === 'string' ? a : a.action)));
          e.actions.forEach((a, i) => {
            if (typeof a !== 'string' && a.params)
              expect(trace.actions[i]?.params, at).toMatchObject(a.params);
          });
        }
        const stack = state.dialog?.flow.stack ?? [];
        if (e.stack !== undefined)
          expect(
            stack.map((f) => f.flow),
            at,
          ).toEqual(e.stack);
        if (e.slots !== undefined) expect(stack.at(-1)?.slots, at).toMatchObject(e.slots);
        if (e.handoff !== undefined) expect(state.handoff, at).toBe(e.handoff);
        if (e.signals !== undefined) expect(trace.signals, at).toEqual(expect.arrayContaining(e.signals));
        if (e.query !== undefined) expect(trace.query, at).toBe(e.query);
        if (e.retrieved !== undefined) expect(trace.retrieved[0]?.id, at).toBe(e.retrieved);
        for (const part of e.notReplies ?? [])
          for (const text of trace.texts) expect(text, at).not.toContain(part);
        if (e.language !== undefined) expect(out.replies[0]?.locale, at).toBe(e.language);
        if (e.source !== undefined) expect(out.replies[0]?.source, at).toBe(e.source);
        // No reply may show an unfilled placeholder.
        for (const reply of trace.texts) expect(reply, at).not.toMatch(/\{[\w.]+\}/);
      }
    });
  }
});
