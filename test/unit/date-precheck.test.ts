import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { mayHoldDate, parseDates, parseDatesWithChrono } from '../../core/dialog/preprocess/dates';

// chrono-node's parsers, counted: the pre-check is proved by the parses it saves.
const parses = vi.hoisted(() => ({ count: 0 }));
vi.mock('chrono-node', async (importOriginal) => {
  const chrono = await importOriginal<typeof import('chrono-node')>();
  const counted = <T extends { parse: (...args: never[]) => unknown }>(parser: T): T =>
    new Proxy(parser, {
      get(target, key, receiver) {
        const value = Reflect.get(target, key, receiver);
        if (key !== 'parse' || typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          parses.count++;
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
  return { ...chrono, en: counted(chrono.en), zh: { ...chrono.zh, hans: counted(chrono.zh.hans) } };
});

const options = { now: new Date('2026-11-01T10:00:00+08:00'), timezoneOffsetMinutes: 480 };

/** Dates customers write: each found with the pre-check in front, as chrono finds it without. */
const DATED = [
  'can you deliver next Monday',
  'deliver it tomorrow please',
  'I ordered it yesterday',
  'arrives on Nov 3?',
  'the third of December works',
  'in two days',
  'a week ago',
  'delivered on 2026-11-03?',
  'this weekend',
  '我想明天退货',
  '11月3日能到吗',
  '下周一',
  '后天可以吗',
  '三天后送到',
  '星期五之前',
  '下礼拜三',
];

/** Messages without anything chrono could read: no digit, no date or time word. */
const PLAIN = [
  'I want to talk to a human',
  'Can I pay with PayPal?',
  'where is my order',
  'how do I get a refund',
  '退款怎么弄',
  '转人工',
  '你们电话多少',
  '能用PayPal付款吗',
];

async function corpus(): Promise<string[]> {
  const texts: string[] = [];
  const root = path.resolve('knowledge');
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.md')) continue;
    const text = await readFile(path.join(entry.parentPath, entry.name), 'utf8');
    texts.push(...text.split('\n').filter((line) => line.trim()));
  }
  const dialog = await readFile('config/dialog.yaml', 'utf8');
  texts.push(...[...dialog.matchAll(/^\s*- ["']?(.+?)["']?$/gmu)].map((m) => m[1] as string));
  return texts;
}

describe('date pre-check before chrono-node', () => {
  it.each(DATED)('finds the date in %s', (text) => {
    expect(mayHoldDate(text)).toBe(true);
    const found = parseDates(text, options);
    expect(found.length).toBeGreaterThan(0);
    expect(found).toEqual(parseDatesWithChrono(text, options));
  });

  it('reads the customer clock as before', () => {
    expect(parseDates('我想明天退货', options).map((e) => e.value)).toEqual(['2026-11-02']);
    expect(parseDates('can you deliver next Monday', options).map((e) => e.value)).toEqual(['2026-11-02']);
  });

  it.each(PLAIN)('skips both parsers for %s', (text) => {
    parses.count = 0;
    expect(parseDates(text, options)).toEqual([]);
    expect(parses.count).toBe(0);
    // Without the pre-check the two parsers run, and find nothing either.
    expect(parseDatesWithChrono(text, options)).toEqual([]);
    expect(parses.count).toBe(2);
  });

  it('finds every date chrono finds in the knowledge base and the dialog examples, parsing fewer', async () => {
    const texts = await corpus();
    expect(texts.length).toBeGreaterThan(500);
    let skipped = 0;
    for (const text of texts) {
      if (!mayHoldDate(text)) skipped++;
      expect(parseDates(text, options), text).toEqual(parseDatesWithChrono(text, options));
    }
    // Most lines and examples hold no date: their parse is saved.
    expect(skipped).toBeGreaterThan(texts.length / 5);
  });
});
