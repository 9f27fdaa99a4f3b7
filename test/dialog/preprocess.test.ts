import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  cleanText,
  type EntityPattern,
  entityPatternSchema,
  extractEntities,
  foldForMatching,
  preprocess,
} from '../../core/dialog/preprocess';

const now = new Date('2026-11-01T10:00:00+08:00'); // a Sunday
const opts = { now, timezoneOffsetMinutes: 480 };

const upper = fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZ');
const digit = fc.constantFrom(...'0123456789');
const digits = (n: number) => fc.array(digit, { minLength: n, maxLength: n }).map((d) => d.join(''));
const orderId = fc.tuple(upper, upper, digits(8)).map(([a, b, d]) => `${a}${b}${d}`);
/** Filler that cannot glue onto an id: words, Han text, spaces and punctuation, no letters or digits at the edges. */
const filler = fc
  .array(
    fc.constantFrom('订单', '我的', ' ', '，', '?', ' where is ', ' my order ', '查一下', '！', '。', ':'),
    {
      maxLength: 6,
    },
  )
  .map((parts) => parts.join(''));
const toFullWidth = (s: string) =>
  s.replace(/[A-Za-z0-9]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0));

describe('cleaning', () => {
  it('folds full-width forms, drops invisible characters, collapses whitespace', () => {
    expect(cleanText('  ＡＢ１２３４５６７８\u200B　订单  ')).toBe('AB12345678 订单');
    expect(cleanText('我 要 退货 ， 谢谢！！！')).toBe('我要退货 , 谢谢!');
    expect(cleanText('where   is\n\tmy order???')).toBe('where is my order?');
  });
  it('maps Chinese punctuation to ASCII and lower-cases for matching', () => {
    expect(foldForMatching('【紧急】“退货”怎么办？Refund。')).toBe('[紧急]"退货"怎么办?refund.');
  });
});

describe('entity extraction (properties)', () => {
  it('finds any valid order id embedded in random text, exactly once, with its span', () => {
    fc.assert(
      fc.property(filler, orderId, filler, (before, id, after) => {
        const text = cleanText(`${before}${id}${after}`);
        const found = extractEntities(text, opts).filter((e) => e.type === 'order_id');
        expect(found).toHaveLength(1);
        expect(found[0]?.value).toBe(id);
        expect(text.slice(found[0]?.start, found[0]?.end)).toBe(id);
      }),
    );
  });

  it('normalizes full-width order ids and phone numbers', () => {
    fc.assert(
      fc.property(
        filler,
        orderId,
        fc.constantFrom('3', '5', '8', '9'),
        digits(9),
        (pad, id, second, rest) => {
          const phone = `1${second}${rest}`;
          const text = cleanText(`${pad}${toFullWidth(id)} 电话${toFullWidth(phone)}`);
          const entities = extractEntities(text, opts);
          expect(entities.find((e) => e.type === 'order_id')?.value).toBe(id);
          expect(entities.find((e) => e.type === 'phone')?.value).toBe(phone);
        },
      ),
    );
  });

  it('rejects near-miss order ids: one letter or digit too many or too few, digit for letter', () => {
    const nearMiss = fc.oneof(
      fc.tuple(upper, digits(8)).map(([a, d]) => `${a}${d}`),
      fc.tuple(upper, upper, digits(7)).map(([a, b, d]) => `${a}${b}${d}`),
      fc.tuple(upper, upper, digits(9)).map(([a, b, d]) => `${a}${b}${d}`),
      fc.tuple(upper, upper, upper, digits(8)).map(([a, b, c, d]) => `${a}${b}${c}${d}`),
      fc.tuple(upper, digit, digits(8)).map(([a, b, d]) => `${a}${b}${d}`),
    );
    fc.assert(
      fc.property(filler, nearMiss, filler, (before, miss, after) => {
        const found = extractEntities(cleanText(`${before}${miss}${after}`), opts);
        expect(found.filter((e) => e.type === 'order_id')).toEqual([]);
      }),
    );
  });

  it('finds mobile numbers only with a valid second digit and exactly 11 digits', () => {
    fc.assert(
      fc.property(filler, fc.constantFrom(...'0123456789'), digits(9), filler, (a, second, rest, b) => {
        const number = `1${second}${rest}`;
        const found = extractEntities(cleanText(`${a}${number}${b}`), opts).filter((e) => e.type === 'phone');
        if ('3456789'.includes(second)) expect(found.map((e) => e.value)).toEqual([number]);
        else expect(found).toEqual([]);
        const tooLong = extractEntities(cleanText(`${a}${number}7${b}`), opts).filter(
          (e) => e.type === 'phone',
        );
        expect(tooLong).toEqual([]);
      }),
    );
  });

  it('finds generated e-mail addresses whole, never an order id inside one', () => {
    const label = fc.stringMatching(/^[a-z][a-z0-9]{0,8}$/);
    fc.assert(
      fc.property(label, label, fc.constantFrom('com', 'cn', 'org'), filler, (user, host, tld, pad) => {
        const address = `${user}@${host}.${tld}`;
        const found = extractEntities(cleanText(`${pad} ${address} ${pad}`), opts);
        expect(found.filter((e) => e.type === 'email').map((e) => e.value)).toEqual([address]);
      }),
    );
    const inside = extractEntities('mail AB12345678@shop.com', opts);
    expect(inside.map((e) => e.type)).toEqual(['email']);
  });
});

describe('entity extraction (examples)', () => {
  it('reads amounts in several currencies and forms', () => {
    const values = (text: string) =>
      extractEntities(cleanText(text), opts)
        .filter((e) => e.type === 'amount')
        .map((e) => e.value);
    expect(values('退款¥1,299.50还没到')).toEqual(['1299.5 CNY']);
    expect(values('退款 ￥88')).toEqual(['88 CNY']);
    expect(values('I paid $25.99 and 30 USD')).toEqual(['25.99 USD', '30 USD']);
    expect(values('一共200元，另外RMB 50')).toEqual(['200 CNY', '50 CNY']);
    expect(values('花了100块钱')).toEqual(['100 CNY']);
    expect(values('订单 AB12345678')).toEqual([]);
  });

  it('reads English and Chinese dates relative to the customer clock', () => {
    const dates = (text: string) =>
      extractEntities(cleanText(text), opts)
        .filter((e) => e.type === 'date')
        .map((e) => e.value);
    expect(dates('我想明天退货')).toEqual(['2026-11-02']);
    expect(dates('11月3日能到吗')).toEqual(['2026-11-03']);
    expect(dates('delivered on 2026-11-03?')).toEqual(['2026-11-03']);
    expect(dates('can you deliver next Monday')).toEqual(['2026-11-02']);
    expect(dates('下周一')).toEqual(['2026-11-09']);
    expect(dates('订单 AB12345678 电话 13812345678')).toEqual([]);
  });

  it('applies per-tenant patterns from config, validated by zod', () => {
    const member: EntityPattern = entityPatternSchema.parse({
      type: 'member_id',
      pattern: 'VIP-(?<id>\\d{6})',
      group: 'id',
      ignoreCase: true,
      tenants: ['acme'],
    });
    const text = '会员号 vip-123456';
    expect(
      extractEntities(text, { ...opts, patterns: [member], tenant: 'acme' }).map((e) => [e.type, e.value]),
    ).toEqual([['member_id', '123456']]);
    expect(extractEntities(text, { ...opts, patterns: [member], tenant: 'other' })).toEqual([]);
    expect(() => entityPatternSchema.parse({ type: 'x', pattern: '([' })).toThrow(
      /not a valid regular expression/,
    );
  });

  it('preprocess cleans, detects the language and extracts together', () => {
    const result = preprocess('我的订单ＡＢ１２３４５６７８到哪了？', opts);
    expect(result.language).toBe('zh');
    expect(result.text).toBe('我的订单AB12345678到哪了?');
    expect(result.entities).toMatchObject([{ type: 'order_id', value: 'AB12345678' }]);
    expect(preprocess('where is ab12345678', opts).language).toBe('en');
    expect(preprocess('12345', { ...opts, localeHint: 'zh-CN' }).language).toBe('zh');
  });
});
