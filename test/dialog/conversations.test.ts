import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DialogDriver, type Fixtures, readScript } from './driver';

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

describe('scripted conversations', () => {
  it('has at least 20 scripts in both languages', () => {
    expect(files.length).toBeGreaterThanOrEqual(20);
  });

  for (const file of files) {
    const script = readScript(join(DIR, file));
    it(`${file}: ${script.name}`, async () => {
      const driver = await DialogDriver.create({ ...defaults, ...script.fixtures });
      const session = driver.newSession();
      let clock = Date.parse(script.start ?? '2026-11-02T10:00:00+08:00');
      for (const [index, turn] of script.turns.entries()) {
        clock += (turn.after ?? 1) * 60_000;
        if (turn.handoffBefore) session.handoff = turn.handoffBefore;
        const out = await driver.turn(session, String(turn.user), new Date(clock).toISOString());
        const where = `${file} turn ${index + 1} "${turn.user}"`;
        const e = turn.expect;
        const trace = JSON.stringify(
          {
            intent: out.intent.name,
            decision: out.decision,
            replies: out.replies,
            keys: out.replyKeys,
            signals: out.signals,
          },
          null,
          1,
        );
        if (e.intent !== undefined) expect(out.intent.name, `${where}\n${trace}`).toBe(e.intent);
        if (e.decision !== undefined) expect(out.decision.type, `${where}\n${trace}`).toBe(e.decision);
        if (e.reason !== undefined)
          expect((out.decision as { reason?: string }).reason, where).toBe(e.reason);
        if (e.replies !== undefined) {
          expect(out.replies.length, `${where}\n${trace}`).toBe(e.replies.length);
          for (const [i, part] of e.replies.entries()) {
            expect(out.replies[i], `${where}\n${trace}`).toContain(part);
          }
        }
        if (e.replyKeys !== undefined) expect(out.replyKeys, `${where}\n${trace}`).toEqual(e.replyKeys);
        if (e.actions !== undefined) {
          expect(
            out.actions.map((a) => a.action),
            `${where}\n${trace}`,
          ).toEqual(e.actions.map((a) => (typeof a === 'string' ? a : a.action)));
          e.actions.forEach((a, i) => {
            if (typeof a !== 'string' && a.params)
              expect(out.actions[i]?.params, where).toMatchObject(a.params);
          });
        }
        if (e.stack !== undefined)
          expect(
            session.flow.stack.map((f) => f.flow),
            `${where}\n${trace}`,
          ).toEqual(e.stack);
        if (e.slots !== undefined) expect(session.flow.stack.at(-1)?.slots, where).toMatchObject(e.slots);
        if (e.handoff !== undefined) expect(session.handoff, where).toBe(e.handoff);
        if (e.signals !== undefined)
          expect(out.signals, `${where}\n${trace}`).toEqual(expect.arrayContaining(e.signals));
        if (e.query !== undefined) expect(out.query, where).toBe(e.query);
        // No reply may show an unfilled placeholder.
        for (const reply of out.replies) expect(reply, where).not.toMatch(/\{[\w.]+\}/);
      }
    });
  }
});
