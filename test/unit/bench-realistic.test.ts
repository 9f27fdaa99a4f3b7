import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { conversationPool, scriptedConversations } from '../../bench/conversations';
import {
  AnswerBook,
  attributeModelTime,
  likeness,
  modelWallMs,
  questionOf,
  type TurnRecord,
  windowTurns,
} from '../../bench/realistic-load';
import { type ProbeConversation, type ProbeMessage, probeChecks } from '../../bench/webchat-probe';
import type { ServedRequest } from '../emulators/openai-emulator';

const ROOT = join(import.meta.dirname, '..', '..');

const served = (
  kind: ServedRequest['kind'],
  lastUser: string,
  arrivedAt: number,
  endedAt: number,
  aborted = false,
) =>
  ({
    kind,
    lastUser,
    arrivedAt,
    endedAt,
    aborted,
    busyMs: endedAt - arrivedAt,
    queuedMs: 0,
  }) as ServedRequest;

const turn = (sender: string, text: string, sentAt: number, answeredAt: number, index = 0): TurnRecord => ({
  sender,
  conversation: 'c',
  index,
  text,
  eventId: `rest:${sender}:t${index}`,
  sentAt,
  answeredAt,
  status: 200,
});

describe('bench:realistic helpers', () => {
  it('counts overlapping model requests once: the time a turn waited on the model', () => {
    expect(modelWallMs([])).toBe(0);
    expect(modelWallMs([served('classify', 'q', 0, 500), served('answer', 'q', 100, 1900)])).toBe(1900);
    expect(modelWallMs([served('classify', 'q', 0, 500), served('answer', 'q', 600, 2000)])).toBe(1900);
  });

  it('reads the customer text out of each kind of model request', () => {
    expect(questionOf(served('classify', '发货要多久?', 0, 1))).toBe('发货要多久?');
    expect(questionOf(served('rewrite', 'Customer: hi\nCustomer (last message): and returns?', 0, 1))).toBe(
      'and returns?',
    );
    expect(questionOf(served('answer', "[1] Shipping\n\nCustomer's question: how long?", 0, 1))).toBe(
      'how long?',
    );
    expect(questionOf(served('answer', '[1] 发货\n\n顾客的问题：发货要多久?', 0, 1))).toBe('发货要多久?');
    // The case summary of a handoff: the turn that asked for a person waits for it.
    const summary =
      'Reason: asked\nConversation:\ncustomer: where is it?\nbot: sorry\ncustomer: I want a person';
    expect(questionOf(served('other', summary, 0, 1))).toBe('I want a person');
    expect(questionOf(served('other', 'a probe of some kind', 0, 1))).toBeUndefined();
  });

  it("gives each turn the requests with its text inside its window, never another's", () => {
    // Two conversations ask the same thing at overlapping times; a third asks something else.
    const a = turn('a', 'How long does shipping take?', 0, 2000);
    const b = turn('b', 'How long does shipping take?', 100, 2500);
    const c = turn('c', '退货', 0, 900);
    const log = [
      served('classify', 'how long does shipping take', 10, 500),
      served('answer', "Customer's question: How long does shipping take?", 20, 1900, true),
      served('answer', "Customer's question: How long does shipping take?", 510, 1950),
      served('classify', 'how long does shipping take', 120, 600),
      served('answer', "Customer's question: How long does shipping take?", 610, 2400),
      served('classify', '退货', 5, 800),
    ];
    const found = attributeModelTime([a, b, c], log);
    expect(found.get(c)).toEqual([log[5]]);
    expect(found.get(a)).toEqual([log[0], log[1], log[2]]);
    expect(found.get(b)).toEqual([log[3], log[4]]);
  });

  it('takes for the same message a text the hub cleaned before asking the model, and not another', () => {
    expect(likeness('是的 我想问下能用支付宝吗', '我想问下能用支付宝吗')).toBe(1);
    expect(likeness('ok, can I get an invoice?', 'can I get an invoice?')).toBe(1);
    expect(likeness('１３８ １２３４ ５６７８', '<PHONE_1>')).toBe(1);
    expect(likeness('wrong address, can u change it', 'wrong address, can you change it')).toBeGreaterThan(
      0.8,
    );
    expect(likeness('wrong address, can u change it', 'how long does shipping take')).toBeLessThan(0.3);
    expect(likeness('运费怎么算', '发货要多久')).toBe(0);
    expect(likeness('１３８ １２３４ ５６７８', 'how long does shipping take')).toBe(0);
  });

  it('gives a turn whose text no request carries the unused requests like it, in its window', () => {
    // `yes` was asked about without its leading "是的"; `phone` was masked; `other` has its own
    // text and takes its own request first, so the second pass cannot give it to anyone else.
    const yes = turn('a', '是的 我想问下能用支付宝吗', 0, 3000);
    const phone = turn('b', '１３８ １２３４ ５６７８', 100, 2000);
    const other = turn('c', 'can I pay with alipay?', 0, 2500);
    const late = turn('d', '是的 我想问下能用支付宝吗', 5000, 6000);
    const log = [
      served('classify', '我想问下能用支付宝吗', 10, 500),
      served('answer', '[1] 支付\n\n顾客的问题：我想问下能用支付宝吗', 510, 2900),
      served('classify', '<PHONE_1>', 150, 900),
      served('classify', 'can I pay with alipay?', 20, 600),
      // Before `late` was sent: nobody's.
      served('answer', '[1] 支付\n\n顾客的问题：我想问下能用支付宝吗', 4000, 4900),
    ];
    const found = attributeModelTime([yes, phone, other, late], log);
    expect(found.get(yes)).toEqual([log[0], log[1]]);
    expect(found.get(phone)).toEqual([log[2]]);
    expect(found.get(other)).toEqual([log[3]]);
    expect(found.get(late)).toEqual([]);
  });

  it("reads latency from the turns sent in the window, the warm-up's burst apart", () => {
    // The window is [5000, 35000): `early` was sent in the warm-up and answered in the window,
    // `late` answered after it, `failed` has a problem.
    const early = turn('a', 'q', 0, 7000);
    const steady = turn('b', 'q', 6000, 9000);
    const late = turn('c', 'q', 30000, 36000);
    const failed = { ...turn('d', 'q', 6000, 8000), problem: 'no reply' };
    const unanswered = { ...turn('e', 'q', 6000, 0), answeredAt: undefined };
    const split = windowTurns([early, steady, late, failed, unanswered], 5000, 35000);
    expect(split.answered).toEqual([early, steady]);
    expect(split.steady).toEqual([steady]);
    expect(split.sentBefore).toEqual([early]);
  });

  it('accepts a turn only with its own replies, in order, each once', () => {
    const book = new AnswerBook();
    const t = turn('s1', 'hi', 0, 1);
    const reply = (id: string, to = 's1') => ({ recipient_id: to, id, text: 'x' });
    expect(book.check(t, [reply('rest:s1:t0#0'), reply('rest:s1:t0#1')])).toBeUndefined();
    expect(book.check(t, [reply('rest:s1:t0#0')])).toMatch(/twice/);
    expect(book.duplicates).toBe(1);
    const next = turn('s1', 'hi', 0, 1, 1);
    expect(book.check(next, [reply('rest:s1:t0#5')])).toMatch(/expected rest:s1:t1#0/);
    expect(book.check(next, [reply('rest:s1:t1#1')])).toMatch(/expected rest:s1:t1#0/);
    expect(book.check(next, [reply('rest:s1:t1#0', 's2')])).toMatch(/not s1/);
    expect(book.check(next, [])).toBe('no reply');
  });

  it('plays the scripted conversations a customer can play alone, and generated ones in both languages', () => {
    const scripted = scriptedConversations(join(ROOT, 'test', 'dialog', 'conversations'));
    const names = scripted.map((c) => c.name);
    expect(names).toContain('18-zh-faq-follow-up');
    // Helpdesk updates, handoffs and scripts with their own config cannot be replayed over REST.
    expect(names).not.toContain('24-zh-helpdesk-loop');
    expect(names).not.toContain('09-zh-explicit-handoff');
    expect(names).not.toContain('25-en-out-of-hours');
    const pool = conversationPool(ROOT, 40, 7);
    expect(pool).toHaveLength(scripted.length + 40);
    expect(pool.filter((c) => c.language === 'zh').length).toBeGreaterThan(20);
    expect(pool.filter((c) => c.language === 'en').length).toBeGreaterThan(20);
    expect(pool.every((c) => c.turns.length > 0 && c.turns.every((t) => t.trim()))).toBe(true);
    expect(conversationPool(ROOT, 40, 7)).toEqual(pool);
  });
});

describe('the web chat checks of an overload run (probeChecks)', () => {
  const message = (typing: number, answered = true): ProbeMessage => ({
    clientId: `m${typing}`,
    sentAt: 0,
    ...(answered ? { answeredAt: 4_000 } : {}),
    replies: answered ? ['r'] : [],
    typing,
  });
  const conversation = (over: Partial<ProbeConversation> = {}): ProbeConversation => ({
    language: 'en',
    messages: [message(1), message(0)],
    notices: [{ at: 1, inLanguage: true }],
    duplicates: 0,
    errors: [],
    ...over,
  });

  it('passes customers told once, in their language, with typing for the messages over the limits', () => {
    const result = probeChecks([conversation(), conversation({ language: 'zh' })], 2);
    expect(result.problems).toEqual([]);
    expect(result).toMatchObject({ messages: 4, notified: 2, typed: 2, answerP99Ms: 4_000 });
  });

  it('names each way admission can go wrong for a chat customer', () => {
    const problems = probeChecks(
      [
        conversation({
          notices: [
            { at: 1, inLanguage: true },
            { at: 2, inLanguage: true },
          ],
        }),
        conversation({
          notices: [{ at: 1, inLanguage: false }],
          messages: [message(0, false)],
          duplicates: 1,
        }),
        conversation({ errors: ['rate_limited'] }),
      ],
      5,
    ).problems.join('\n');
    expect(problems).toMatch(/1 web chat message\(s\) never answered/);
    expect(problems).toMatch(/1 web chat reply\(ies\) delivered twice/);
    expect(problems).toMatch(/error frames: rate_limited/);
    expect(problems).toMatch(/1 web chat conversation\(s\) told they wait more than once/);
    expect(problems).toMatch(/not in the conversation's language/);
    expect(problems).toMatch(/typing shown for 2 message\(s\), fewer than the 5/);
  });

  it('fails a notice with nothing over the limits, and silence with something over them', () => {
    expect(probeChecks([conversation()], 0).problems.join('\n')).toMatch(
      /no message came in over the limits/,
    );
    expect(probeChecks([conversation({ notices: [] })], 1).problems.join('\n')).toMatch(
      /no conversation was told/,
    );
  });
});
