import { z } from 'zod';
import { parseDates } from './dates';
import type { Entity } from './entity';

export type { Entity } from './entity';

/** A pattern from config: a regular expression (source, JavaScript syntax) and how to normalize its match. */
export const entityPatternSchema = z.object({
  type: z.string().regex(/^[a-z][a-z0-9_]*$/, 'use lower-case letters, digits and "_", e.g. "member_id"'),
  pattern: z.string().superRefine((source, ctx) => {
    try {
      new RegExp(source, 'u');
    } catch (error) {
      ctx.addIssue({
        code: 'custom',
        message: `not a valid regular expression: ${(error as Error).message}`,
      });
    }
  }),
  /** Match regardless of case. */
  ignoreCase: z.boolean().default(false),
  /** Name of the capture group that holds the value; default the whole match. */
  group: z.string().optional(),
  normalize: z.enum(['none', 'upper', 'lower', 'digits']).default('none'),
  /** Tenants this pattern applies to; absent: all. */
  tenants: z.array(z.string()).optional(),
});
export type EntityPattern = z.infer<typeof entityPatternSchema>;

export interface ExtractOptions {
  /** Per-tenant and global extra patterns from config. */
  patterns?: EntityPattern[];
  tenant?: string;
  /** Reference time for relative dates ("明天", "next Monday"). */
  now?: Date;
  /** Minutes east of UTC of the customer's clock; default the server's. */
  timezoneOffsetMinutes?: number;
}

interface Candidate extends Entity {
  /** Lower wins an overlap of equal length. */
  priority: number;
}

/** Letters and digits on either side would make the match part of a longer token. */
const NOT_ALNUM_BEFORE = '(?<![A-Za-z0-9])';
const NOT_ALNUM_AFTER = '(?![A-Za-z0-9])';

/**
 * Order ids are two letters and eight digits. Lower-case letters are accepted (people type them)
 * and stored upper-cased; one letter or digit more or fewer is not an order id.
 */
const ORDER_ID = new RegExp(`${NOT_ALNUM_BEFORE}[A-Za-z]{2}\\d{8}${NOT_ALNUM_AFTER}`, 'gu');
/** Chinese mainland mobile numbers, optionally +86, optionally grouped 3-4-4 by spaces or dashes. */
const MOBILE = new RegExp(
  `${NOT_ALNUM_BEFORE}(?:(?:\\+|00)?86[ -]?)?(1[3-9]\\d)([ -]?)(\\d{4})\\2(\\d{4})${NOT_ALNUM_AFTER}`,
  'gu',
);
const EMAIL =
  /(?<![\w.+-])[A-Za-z0-9](?:[A-Za-z0-9._%+-]{0,62}[A-Za-z0-9_%+-])?@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![\w-])/gu;

const CURRENCY_BEFORE: Record<string, string> = {
  '¥': 'CNY',
  rmb: 'CNY',
  cny: 'CNY',
  $: 'USD',
  us$: 'USD',
  usd: 'USD',
  '€': 'EUR',
  eur: 'EUR',
  '£': 'GBP',
  gbp: 'GBP',
};
const CURRENCY_AFTER: Record<string, string> = {
  元: 'CNY',
  块: 'CNY',
  块钱: 'CNY',
  元人民币: 'CNY',
  人民币: 'CNY',
  rmb: 'CNY',
  cny: 'CNY',
  yuan: 'CNY',
  usd: 'USD',
  dollars: 'USD',
  dollar: 'USD',
  美元: 'USD',
  美金: 'USD',
  eur: 'EUR',
  euros: 'EUR',
  欧元: 'EUR',
};
const NUMBER = '(\\d{1,3}(?:,\\d{3})+|\\d+)(\\.\\d{1,2})?';
const AMOUNT_BEFORE = new RegExp(`(us\\$|[¥$€£]|rmb|cny|usd|eur|gbp)\\s?${NUMBER}(?![\\d.])`, 'giu');
const AMOUNT_AFTER = new RegExp(
  `(?<![\\d.,])${NUMBER}\\s?(元人民币|块钱|人民币|元|块|美元|美金|欧元|rmb|cny|yuan|usd|dollars?|eur|euros)(?![A-Za-z])`,
  'giu',
);

function* matches(re: RegExp, text: string): Generator<RegExpExecArray> {
  re.lastIndex = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    yield m;
    if (m[0].length === 0) re.lastIndex++;
  }
}

function at(m: RegExpExecArray, type: string, value: string, priority: number): Candidate {
  return { type, value, text: m[0], start: m.index, end: m.index + m[0].length, priority };
}

function emailValid(address: string): boolean {
  const [local = '', domain = ''] = address.split('@');
  return local.length <= 64 && !local.includes('..') && domain.length <= 253;
}

function amountOf(digits: string, fraction: string | undefined): number {
  return Number(digits.replaceAll(',', '') + (fraction ?? ''));
}

function builtIns(text: string): Candidate[] {
  const found: Candidate[] = [];
  for (const m of matches(EMAIL, text)) {
    if (emailValid(m[0])) {
      const [local, domain] = m[0].split('@');
      found.push(at(m, 'email', `${local}@${domain?.toLowerCase()}`, 0));
    }
  }
  for (const m of matches(ORDER_ID, text)) found.push(at(m, 'order_id', m[0].toUpperCase(), 1));
  for (const m of matches(MOBILE, text)) found.push(at(m, 'phone', `${m[1]}${m[3]}${m[4]}`, 2));
  for (const m of matches(AMOUNT_BEFORE, text)) {
    const currency = CURRENCY_BEFORE[(m[1] ?? '').toLowerCase()] ?? 'CNY';
    const amount = amountOf(m[2] ?? '', m[3]);
    const candidate = at(m, 'amount', `${amount} ${currency}`, 3);
    found.push({ ...candidate, detail: { amount, currency } });
  }
  for (const m of matches(AMOUNT_AFTER, text)) {
    const currency = CURRENCY_AFTER[(m[3] ?? '').toLowerCase()] ?? 'CNY';
    const amount = amountOf(m[1] ?? '', m[2]);
    const candidate = at(m, 'amount', `${amount} ${currency}`, 3);
    found.push({ ...candidate, detail: { amount, currency } });
  }
  return found;
}

const NORMALIZERS: Record<EntityPattern['normalize'], (value: string) => string> = {
  none: (value) => value,
  upper: (value) => value.toUpperCase(),
  lower: (value) => value.toLowerCase(),
  digits: (value) => value.replace(/\D/gu, ''),
};

function configured(text: string, patterns: EntityPattern[], tenant: string | undefined): Candidate[] {
  const found: Candidate[] = [];
  for (const pattern of patterns) {
    if (pattern.tenants && (!tenant || !pattern.tenants.includes(tenant))) continue;
    const re = new RegExp(pattern.pattern, `gu${pattern.ignoreCase ? 'i' : ''}`);
    for (const m of matches(re, text)) {
      const raw = pattern.group ? m.groups?.[pattern.group] : m[0];
      if (!raw) continue;
      // Configured patterns come after the built-ins they might shadow only when shorter.
      found.push(at(m, pattern.type, NORMALIZERS[pattern.normalize](raw), 5));
    }
  }
  return found;
}

/** Longest match wins an overlap; on equal length the higher-priority type (email before order id ...). */
function withoutOverlaps(candidates: Candidate[]): Entity[] {
  const ranked = [...candidates].sort(
    (a, b) => b.end - b.start - (a.end - a.start) || a.priority - b.priority || a.start - b.start,
  );
  const kept: Candidate[] = [];
  for (const candidate of ranked) {
    if (kept.every((k) => candidate.end <= k.start || candidate.start >= k.end)) kept.push(candidate);
  }
  return kept.sort((a, b) => a.start - b.start).map(({ priority: _priority, ...entity }) => entity);
}

/**
 * Entities in `text` (already cleaned: full-width digits folded by `cleanText`). Built-in types:
 * order_id, phone, email, amount, date; config adds more. Spans never overlap.
 */
export function extractEntities(text: string, options: ExtractOptions = {}): Entity[] {
  const candidates = [
    ...builtIns(text),
    ...configured(text, options.patterns ?? [], options.tenant),
    ...parseDates(text, options).map((date) => ({ ...date, priority: 4 })),
  ];
  return withoutOverlaps(candidates);
}
