import * as chrono from 'chrono-node';
import type { Entity } from './entity';

export interface DateOptions {
  now?: Date;
  /** Minutes east of UTC; default the server's offset at `now`. */
  timezoneOffsetMinutes?: number;
}

const pad = (n: number) => String(n).padStart(2, '0');

/** Prefixes of English words chrono reads as dates or times ("mon" for "monday", "day" for "days"). */
const ENGLISH_DATE_WORDS = [
  ...'jan feb mar apr may jun jul aug sep oct nov dec mon tue wed thu fri sat sun'.split(' '),
  ...'today tonight tomorrow tmr yesterday now noon midnight morning afternoon evening night'.split(' '),
  ...'day week fortnight month quarter year hour minute second ago later next last past coming'.split(' '),
  ...["o'clock", 'oclock', 'am', 'pm', 'a\\.m', 'p\\.m'],
];
/**
 * What chrono-node needs to find a date: a digit (ASCII or full-width), an English month, weekday or
 * relative-time word, or a Chinese character of a date or time (天 日 号 周 星期 礼拜 月 年, 今明后昨前,
 * 上下午 晚 点 时). Most messages have none; for those the two parsers (together about 20 µs for a
 * short message, growing with its length; the check is under 1 µs) are skipped. A superset: a false
 * alarm only costs the parse it would have cost anyway.
 */
const MAY_HOLD_DATE = new RegExp(
  [
    '[0-9０-９]',
    '[天日号號周週星期礼禮拜月年今明后後昨前晚早午点點时時半刻]',
    `\\b(?:${ENGLISH_DATE_WORDS.join('|')})`,
  ].join('|'),
  'iu',
);

/** Whether `text` has anything chrono-node could read as a date or a time (see MAY_HOLD_DATE). */
export function mayHoldDate(text: string): boolean {
  return MAY_HOLD_DATE.test(text);
}

/**
 * Dates in English and Chinese ("next Monday", "Nov 3", "明天", "11月3日", "下周一", "2026-11-03")
 * by chrono-node (MIT), both parsers over the same text. The value is the calendar date in the
 * customer's time zone; a stated time of day goes to `detail.time`.
 */
export function parseDates(text: string, options: DateOptions = {}): Entity[] {
  return mayHoldDate(text) ? parseDatesWithChrono(text, options) : [];
}

/** `parseDates` without the pre-check: both parsers over any text (the pre-check's tests compare the two). */
export function parseDatesWithChrono(text: string, options: DateOptions = {}): Entity[] {
  const now = options.now ?? new Date();
  const reference = {
    instant: now,
    timezone: options.timezoneOffsetMinutes ?? -now.getTimezoneOffset(),
  };
  const results = [...chrono.en.parse(text, reference), ...chrono.zh.hans.parse(text, reference)];
  const entities: Entity[] = [];
  for (const result of results) {
    const { start } = result;
    const year = start.get('year');
    const month = start.get('month');
    const day = start.get('day');
    if (!year || !month || !day) continue;
    // A lone number or "3" followed by a unit is not a date worth a slot; chrono calls those weekday-less guesses.
    if (
      !start.isCertain('day') &&
      !start.isCertain('weekday') &&
      !/[天日号號周週]|day|week|month/iu.test(result.text)
    ) {
      continue;
    }
    const date = `${year}-${pad(month)}-${pad(day)}`;
    const detail: Record<string, string> = { date };
    if (start.isCertain('hour'))
      detail.time = `${pad(start.get('hour') ?? 0)}:${pad(start.get('minute') ?? 0)}`;
    entities.push({
      type: 'date',
      value: date,
      text: result.text,
      start: result.index,
      end: result.index + result.text.length,
      detail,
    });
  }
  return entities;
}
