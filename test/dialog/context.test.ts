import { describe, expect, it } from 'vitest';
import { looksLikeFollowUp, rewriteByRules, rewriteFollowUp } from '../../core/dialog/context/rewrite';
import { type ContextConfig, contextConfigSchema, fitHistory } from '../../core/dialog/context/window';
import { countMessageTokens } from '../../core/llm/tokenizer';
import type { LlmClient, Turn } from '../../core/types';

const turn = (role: Turn['role'], text: string, locale = 'en'): Turn => ({
  role,
  text,
  at: '2026-11-02T10:00:00Z',
  locale,
});

describe('history window (Qwen3 tokens)', () => {
  const long = (i: number) =>
    `Question ${i}: ${'my parcel with the blue jacket has not arrived yet and '.repeat(30)}`;
  const history = Array.from({ length: 40 }, (_, i) => turn(i % 2 ? 'assistant' : 'user', long(i)));

  it('keeps the newest whole turns within the 8K budget and summarizes the dropped ones', () => {
    const config = contextConfigSchema.parse({});
    const window = fitHistory(history, config);
    const budget = config.contextTokens - config.reservedTokens;
    expect(window.tokens).toBeLessThanOrEqual(budget);
    expect(window.dropped).toBeGreaterThan(0);
    expect(window.turns.at(-1)).toBe(history.at(-1)); // newest kept
    for (const kept of window.turns) expect(history).toContain(kept); // never cut mid-message
    expect(window.turns.length + window.dropped).toBe(history.length);
    expect(window.summary).toMatch(/^Earlier in this conversation the customer asked:/);
    // Each summary line is the start of a dropped customer message; the latest dropped one is there.
    const dropped = history.slice(0, window.dropped).filter((t) => t.role === 'user');
    const lines = window.summary?.split('\n').slice(1) ?? [];
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) {
      const start = line.slice(2).replace(/…$/, '');
      expect(
        dropped.some((t) => t.text.startsWith(start)),
        line,
      ).toBe(true);
    }
    expect(lines.at(-1)).toContain(`Question ${dropped.length * 2 - 2}:`);
  });

  it('keeps everything when it fits, with no summary', () => {
    const short = [turn('user', '运费怎么算？', 'zh'), turn('assistant', '满 99 元包邮。', 'zh')];
    const window = fitHistory(short, contextConfigSchema.parse({}));
    expect(window).toMatchObject({ turns: short, dropped: 0 });
    expect(window.summary).toBeUndefined();
    expect(window.tokens).toBe(
      countMessageTokens('user', '运费怎么算？') + countMessageTokens('assistant', '满 99 元包邮。'),
    );
  });

  it('summarizes in Chinese for a Chinese conversation; a single over-long message is dropped whole', () => {
    const config: ContextConfig = { contextTokens: 400, reservedTokens: 200, summaryTokens: 60 };
    const zh = [
      turn('user', '我的订单AB12345678什么时候到？', 'zh'),
      turn('assistant', '已发货。', 'zh'),
      turn('user', '很长'.repeat(300), 'zh'),
    ];
    const window = fitHistory(zh, config);
    expect(window.turns).toEqual([]);
    expect(window.summary).toContain('此前对话中客户问过');
    expect(window.summary).toContain('AB12345678');
  });
});

describe('follow-up rewriting', () => {
  it('"那退货呢？" after a shipping question names its own topic: it stands alone', () => {
    const history = [turn('user', '发货要多久？', 'zh'), turn('assistant', '48 小时内发货。', 'zh')];
    expect(rewriteByRules('那退货呢？', history)).toBe('那退货呢？');
  });
  it('English "what about returns?" after a shipping question is searched as itself, not with shipping swapped', () => {
    const history = [
      turn('user', 'How long does shipping take?'),
      turn('assistant', '3-5 days.'),
      turn('user', 'ok thanks'),
    ];
    expect(rewriteByRules('what about returns?', history)).toBe('what about returns?');
    expect(rewriteByRules('what about refunds?', history)).toBe('what about refunds?');
    // The same topic in other words borrows the question: "what about delivery?" is about shipping times.
    expect(rewriteByRules('what about delivery?', history)).toBe('delivery How long does shipping take?');
  });
  it('without a known topic, the subject is prefixed to the previous question', () => {
    const history = [turn('user', '这件衣服有几种颜色？', 'zh'), turn('assistant', '三种。', 'zh')];
    expect(rewriteByRules('那裤子呢？', history)).toBe('裤子 这件衣服有几种颜色？');
  });
  it('"the second one" / "第二个" become the item of the bot\'s last list', () => {
    const history = [
      turn('user', 'which orders do I have?'),
      turn('assistant', 'You have:\n1. AB12345678 (shipped)\n2. CD87654321 (processing)'),
    ];
    expect(rewriteByRules('what about the second one?', history)).toBe('what about CD87654321 (processing)?');
    expect(rewriteByRules('第二个什么时候到', history)).toBe('CD87654321 (processing)什么时候到');
    expect(rewriteByRules('and the last one?', history)).toBe('and CD87654321 (processing)?');
  });
  it('leaves standalone messages alone, and full questions that end in 呢', () => {
    const history = [turn('user', '发货要多久？', 'zh')];
    expect(rewriteByRules('可以开发票吗？', history)).toBe('可以开发票吗？');
    expect(rewriteByRules('我的订单怎么到现在还没有发货呢？', history)).toBe(
      '我的订单怎么到现在还没有发货呢？',
    );
    expect(looksLikeFollowUp('可以开发票吗？')).toBe(false);
    expect(looksLikeFollowUp('那退货呢？')).toBe(true);
  });
  it('uses the LLM when present, the rules when it fails, and no model call for standalone messages', async () => {
    const calls: string[] = [];
    const llm = (reply: () => Promise<string>): LlmClient => ({
      available: () => true,
      chat: async (request) => {
        calls.push(request.messages.at(-1)?.content ?? '');
        return { text: await reply(), toolCalls: [], model: 'm', finishReason: 'stop' };
      },
    });
    const history = [turn('user', '发货要多久？', 'zh'), turn('assistant', '48 小时内发货。', 'zh')];
    expect(
      await rewriteFollowUp(
        '那退货呢？',
        history,
        'zh',
        llm(async () => '退货需要多长时间？'),
      ),
    ).toEqual({ query: '退货需要多长时间？', by: 'llm' });
    expect(calls[0]).toContain('发货要多久？');
    const failing = llm(async () => {
      throw new Error('timeout');
    });
    expect(await rewriteFollowUp('那快递呢？', history, 'zh', failing)).toEqual({
      query: '快递 发货要多久？',
      by: 'rules',
    });
    calls.length = 0;
    expect(
      await rewriteFollowUp(
        '可以开发票吗？',
        history,
        'zh',
        llm(async () => 'x'),
      ),
    ).toEqual({ query: '可以开发票吗？', by: 'none' });
    expect(calls).toEqual([]);
  });
});
