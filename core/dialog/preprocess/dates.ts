import * as chrono from 'chrono-node';
import type { Entity } from './entity';

export interface DateOptions {
  now?: Date;
  /** Minutes east of UTC; default the server's offset at `now`. */
  timezoneOffsetMinutes?: number;
}

const pad = (n: number) => String(n).padStart(2, '0');

/**
 * Dates in English and Chinese ("next Monday", "Nov 3", "明天", "11月3日", "下周一", "2026-11-03")
 * by chrono-node (MIT), both parsers over the same text. The value is the calendar date in the
 * customer's time zone; a stated time of day goes to `detail.time`.
 */
export function parseDates(text: string, options: DateOptions = {}): Entity[] {
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
