import { type RawBuilder, sql } from 'kysely';
import type { AnalyticsStore } from './store';

/**
 * What the figures can be split by. Conversations count under the day (or hour, UTC, as
 * `YYYY-MM-DDTHH:00Z`) they started and their first known intent; turns under their own.
 */
export const DIMENSIONS = ['day', 'hour', 'tenant', 'channel', 'language', 'intent'] as const;
export type Dimension = (typeof DIMENSIONS)[number];

export interface FiguresQuery {
  /** First and last day, inclusive, `YYYY-MM-DD` (UTC). */
  from: string;
  to: string;
  /** Within those days, only conversations started (turns taken) at or after this time, and before `until`. */
  since?: Date;
  until?: Date;
  by?: readonly Dimension[];
  tenant?: string;
  /** Only these tenants (an operator's scope). */
  tenants?: readonly string[];
  channel?: string;
  language?: string;
  intent?: string;
}

export interface Figures {
  /** The group's values of the `by` dimensions (absent ones are the whole range); null where none was known. */
  key: Partial<Record<Dimension, string | null>>;
  conversations: number;
  /** Still going: a customer message within `abandonAfterMinutes`, no handoff. */
  open: number;
  /** Ended with the bot, without a handoff and without an unanswered turn (bot-resolved). */
  contained: number;
  handedOff: number;
  abandoned: number;
  /** Ended with the bot after an answer, but an earlier turn went unanswered. */
  endedUnanswered: number;
  /** contained ÷ ended conversations (contained + handed off + abandoned + ended unanswered); null when none ended. */
  containmentRate: number | null;
  csat: { average: number | null; count: number };
  helpful: { yes: number; no: number; rate: number | null };
  /** Over conversations whose first message was answered. */
  firstResponseMs: { p50: number | null; p90: number | null };
  /** Customer turns. */
  turns: number;
  /**
   * Turns whose intent was `unknown` ÷ turns whose intent was recognized; a message a waiting flow
   * took as its answer ("yes", an order number) is neither: no intent was needed.
   */
  unknownIntentRate: number | null;
  /** Turns answered "I don't know" ÷ turns that asked the knowledge base. */
  dontKnowRate: number | null;
  dontKnow: number;
  llmFallbacks: number;
  /** Customer turns by intent confidence, in tenths: [0, 0.1), [0.1, 0.2), … [0.9, 1]. */
  confidenceHistogram: number[];
}

const ratio = (part: number, whole: number) => (whole > 0 ? part / whole : null);

/**
 * The business figures for a date range, grouped by the dimensions asked for (README "Business
 * metrics" defines each). A conversation's outcome is computed here, at query time, from its row
 * and `now`: one with no customer message for `abandonAfterMinutes` has ended.
 */
export async function businessFigures(
  analytics: AnalyticsStore,
  query: FiguresQuery,
  now: Date,
  abandonAfterMinutes: number,
): Promise<Figures[]> {
  const by = DIMENSIONS.filter((d) => query.by?.includes(d));
  const cutoff = new Date(now.getTime() - abandonAfterMinutes * 60_000).toISOString();
  const ended = sql`(handed_off_at is null and last_customer_at <= ${cutoff}::timestamptz)`;
  const conversations = await sql<Record<string, unknown>>`
    select ${columns(by, 'started_at')}
      count(*) as conversations,
      count(*) filter (where handed_off_at is null and not ${ended}) as open,
      count(*) filter (where handed_off_at is not null) as handed_off,
      count(*) filter (where ${ended} and left_waiting) as abandoned,
      count(*) filter (where ${ended} and not left_waiting and unanswered_turns = 0) as contained,
      count(*) filter (where ${ended} and not left_waiting and unanswered_turns > 0) as ended_unanswered,
      count(csat_score) as csat_count,
      avg(csat_score)::float8 as csat_average,
      coalesce(sum(helpful_yes), 0) as helpful_yes,
      coalesce(sum(helpful_no), 0) as helpful_no,
      percentile_cont(0.5) within group (order by first_response_ms) as p50,
      percentile_cont(0.9) within group (order by first_response_ms) as p90
    from conversation_outcomes
    where ${filters(query, 'started_at')}
    ${groupBy(by)}`.execute(analytics.db);
  const buckets = Array.from(
    { length: 10 },
    (_, i) => sql`count(*) filter (where confidence_bucket = ${i}) as ${sql.ref(`b${i}`)},`,
  );
  const turns = await sql<Record<string, unknown>>`
    select ${columns(by, 'at')}
      ${sql.join(buckets, sql` `)}
      count(*) as turns,
      count(intent) - count(*) filter (where intent = 'unknown' and decision = 'flow') as recognized,
      count(*) filter (where intent = 'unknown' and decision is distinct from 'flow') as unknown_intent,
      count(*) filter (where answer_ran) as answer_ran,
      count(*) filter (where unanswered) as unanswered,
      count(llm_fallback) as llm_fallbacks
    from turn_facts
    where customer and ${filters(query, 'at')}
    ${groupBy(by)}`.execute(analytics.db);

  const groups = new Map<string, Figures>();
  const groupOf = (row: Record<string, unknown>) => {
    const key = Object.fromEntries(by.map((d) => [d, (row[d] as string | null) ?? null]));
    const id = JSON.stringify(key);
    let figures = groups.get(id);
    if (!figures) {
      figures = emptyFigures(key);
      groups.set(id, figures);
    }
    return figures;
  };
  // Without a group by, an empty range still gives one row of zeros: no group then.
  for (const row of conversations.rows) {
    if (num(row.conversations) === 0) continue;
    const f = groupOf(row);
    f.conversations = num(row.conversations);
    f.open = num(row.open);
    f.handedOff = num(row.handed_off);
    f.abandoned = num(row.abandoned);
    f.contained = num(row.contained);
    f.endedUnanswered = num(row.ended_unanswered);
    f.containmentRate = ratio(f.contained, f.contained + f.handedOff + f.abandoned + f.endedUnanswered);
    f.csat = { count: num(row.csat_count), average: row.csat_average == null ? null : num(row.csat_average) };
    const yes = num(row.helpful_yes);
    const no = num(row.helpful_no);
    f.helpful = { yes, no, rate: ratio(yes, yes + no) };
    f.firstResponseMs = { p50: orNull(row.p50), p90: orNull(row.p90) };
  }
  for (const row of turns.rows) {
    if (num(row.turns) === 0) continue;
    const f = groupOf(row);
    f.turns = num(row.turns);
    f.unknownIntentRate = ratio(num(row.unknown_intent), num(row.recognized));
    f.dontKnow = num(row.unanswered);
    f.dontKnowRate = ratio(f.dontKnow, num(row.answer_ran));
    f.llmFallbacks = num(row.llm_fallbacks);
    f.confidenceHistogram = Array.from({ length: 10 }, (_, i) => num(row[`b${i}`]));
  }
  return [...groups.values()].sort((a, b) => JSON.stringify(a.key).localeCompare(JSON.stringify(b.key)));
}

export function emptyFigures(key: Figures['key']): Figures {
  return {
    key,
    conversations: 0,
    open: 0,
    contained: 0,
    handedOff: 0,
    abandoned: 0,
    endedUnanswered: 0,
    containmentRate: null,
    csat: { average: null, count: 0 },
    helpful: { yes: 0, no: 0, rate: null },
    firstResponseMs: { p50: null, p90: null },
    turns: 0,
    unknownIntentRate: null,
    dontKnowRate: null,
    dontKnow: 0,
    llmFallbacks: 0,
    confidenceHistogram: Array.from({ length: 10 }, () => 0),
  };
}

/** The time a row counts at: a conversation's start, a turn's arrival. */
type TimeColumn = 'started_at' | 'at';

/**
 * `day` as text: a date column would come back as a Date in the server's time zone; `hour` as
 * text too, the row's time truncated in UTC (a group by names the output column).
 */
function columns(by: readonly Dimension[], time: TimeColumn): RawBuilder<unknown> {
  if (!by.length) return sql``;
  const list = by.map((d) =>
    d === 'day'
      ? sql`day::text as day`
      : d === 'hour'
        ? sql`to_char(${sql.ref(time)} at time zone 'UTC', 'YYYY-MM-DD"T"HH24":00Z"') as hour`
        : sql.ref(d),
  );
  return sql`${sql.join(list)},`;
}

function groupBy(by: readonly Dimension[]): RawBuilder<unknown> {
  return by.length ? sql`group by ${sql.join(by.map((d) => sql.ref(d)))}` : sql``;
}

function filters(query: FiguresQuery, time: TimeColumn): RawBuilder<unknown> {
  const parts = [sql`day between ${query.from}::date and ${query.to}::date`];
  if (query.since) parts.push(sql`${sql.ref(time)} >= ${query.since.toISOString()}::timestamptz`);
  if (query.until) parts.push(sql`${sql.ref(time)} < ${query.until.toISOString()}::timestamptz`);
  for (const d of ['tenant', 'channel', 'language', 'intent'] as const) {
    const value = query[d];
    if (value !== undefined) parts.push(sql`${sql.ref(d)} = ${value}`);
  }
  if (query.tenants) {
    parts.push(
      query.tenants.length ? sql`tenant in (${sql.join(query.tenants.map((t) => sql`${t}`))})` : sql`false`,
    );
  }
  return sql.join(parts, sql` and `);
}

const num = (value: unknown) => Number(value ?? 0);
const orNull = (value: unknown) => (value == null ? null : Number(value));
