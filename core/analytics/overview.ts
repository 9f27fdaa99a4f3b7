import { type RawBuilder, sql } from 'kysely';
import { businessFigures, emptyFigures, type Figures } from './figures';
import { type AnalyticsStore, utcDay } from './store';

/** The console's windows: the last hour by minute, the last day by hour. */
export const OVERVIEW_WINDOWS = {
  hour: { stepMs: 60_000, steps: 60 },
  day: { stepMs: 3_600_000, steps: 24 },
};
export type OverviewWindow = keyof typeof OVERVIEW_WINDOWS;

export interface OverviewQuery {
  window: OverviewWindow;
  tenant?: string;
  /** Only these tenants (an operator's scope); absent: all. */
  tenants?: readonly string[];
  channel?: string;
}

/** The system figures of a window or of one step of it. */
export interface SystemFigures {
  /** Customer turns written (README "Business metrics": a customer message or tap the bot handled). */
  turns: number;
  /** Turns per second over the span. */
  qps: number;
  /** The worker's time on a turn, from taking the event to its replies stored; null without turns. */
  latencyMs: { p50: number | null; p99: number | null };
  /** Bus handler attempts that threw (retried or dead-lettered; an outage's wait is none). */
  failedAttempts: number;
  deadLetters: number;
  /** Failed attempts ÷ attempts (turns written + failed attempts); null without either. */
  errorRate: number | null;
  /** Turns answered extractively because the model failed (README "LLM fallbacks"). */
  llmFallbacks: number;
  /** LLM fallbacks ÷ turns that asked the knowledge base; null without such turns. */
  fallbackRate: number | null;
}

export interface Overview {
  window: OverviewWindow;
  /** The span of the window, ISO times: `from` is the start of its first step, `to` the request's time. */
  from: string;
  to: string;
  stepSeconds: number;
  system: SystemFigures & {
    /** Turns per second over the last 60 seconds. */
    liveQps: number;
    /** Errors every process logged (`hub_errors_total`), named to no tenant: null for a caller scoped to some, or a filtered view. */
    loggedErrors: number | null;
  };
  /** One entry per step of the window, oldest first, `at` its start; a step without turns has zeros and nulls. */
  systemSeries: (SystemFigures & { at: string })[];
  /** The business figures (figures.ts) of conversations started and turns taken within the window. */
  business: Figures;
  /** Their trend: by hour over the last 24 hours (window hour), by day over the last 14 days (window day). */
  businessTrend: { step: 'hour' | 'day'; figures: Figures[] };
}

const ratio = (part: number, whole: number) => (whole > 0 ? part / whole : null);
const num = (value: unknown) => Number(value ?? 0);
const orNull = (value: unknown) => (value == null ? null : Number(value));

/**
 * The console's overview (GET /admin/console/overview): system figures from every process's rows
 * (turn_facts with their latency, system_minutes), per step of the window, and the business figures
 * with their trend. The figures are computed here, from the database, whichever process asks.
 */
export async function overviewFigures(
  analytics: AnalyticsStore,
  query: OverviewQuery,
  now: Date,
  abandonAfterMinutes: number,
): Promise<Overview> {
  const { stepMs, steps } = OVERVIEW_WINDOWS[query.window];
  const end = now.getTime();
  const start = Math.floor(end / stepMs) * stepMs - (steps - 1) * stepMs;
  const since = new Date(start);
  const stepSeconds = stepMs / 1000;

  const stepOfTime = (column: string) =>
    sql`(floor(extract(epoch from ${sql.ref(column)}) / ${stepSeconds}) * ${stepSeconds})::float8`;
  const turnRows = await sql<Record<string, unknown>>`
    select step,
      count(*) as turns,
      percentile_cont(0.5) within group (order by latency_ms) as p50,
      percentile_cont(0.99) within group (order by latency_ms) as p99,
      count(*) filter (where answer_ran) as answer_ran,
      count(llm_fallback) as llm_fallbacks,
      count(*) filter (where at > ${new Date(end - 60_000).toISOString()}::timestamptz) as last_minute
    from (
      select ${stepOfTime('at')} as step, latency_ms, answer_ran, llm_fallback, at from turn_facts
      where customer and at >= ${since.toISOString()}::timestamptz and at <= ${now.toISOString()}::timestamptz
        and day between ${utcDay(since)}::date and ${utcDay(now)}::date and ${scope(query)}
    ) turns
    group by grouping sets ((step), ())`.execute(analytics.db);
  const inWindow = sql`minute >= ${since.toISOString()}::timestamptz and minute <= ${now.toISOString()}::timestamptz`;
  const minuteRows = await sql<Record<string, unknown>>`
    select step, kind, sum(count) as count
    from (
      select ${stepOfTime('minute')} as step, kind, count from system_minutes
      where ${inWindow} and tenant <> '' and ${scope(query)}
    ) minutes
    group by grouping sets ((step, kind), (kind))`.execute(analytics.db);
  const showLogged = !query.tenant && !query.channel && !query.tenants;
  const logged = showLogged
    ? await sql<{ count: unknown }>`
        select coalesce(sum(count), 0) as count from system_minutes
        where kind = 'error' and tenant = '' and ${inWindow}`.execute(analytics.db)
    : undefined;

  const stepOf = (row: Record<string, unknown>) => (row.step == null ? 'all' : String(num(row.step) * 1000));
  const turnsBy = new Map(turnRows.rows.map((row) => [stepOf(row), row]));
  const minutesBy = new Map<string, Record<string, number>>();
  for (const row of minuteRows.rows) {
    const key = stepOf(row);
    const kinds = minutesBy.get(key) ?? {};
    kinds[String(row.kind)] = num(row.count);
    minutesBy.set(key, kinds);
  }
  const figuresOf = (key: string, seconds: number): SystemFigures => {
    const row = turnsBy.get(key);
    const kinds = minutesBy.get(key) ?? {};
    const turns = num(row?.turns);
    const failedAttempts = kinds.turn_failed ?? 0;
    const llmFallbacks = num(row?.llm_fallbacks);
    return {
      turns,
      qps: seconds > 0 ? turns / seconds : 0,
      latencyMs: { p50: orNull(row?.p50), p99: orNull(row?.p99) },
      failedAttempts,
      deadLetters: kinds.dead_letter ?? 0,
      errorRate: ratio(failedAttempts, turns + failedAttempts),
      llmFallbacks,
      fallbackRate: ratio(llmFallbacks, num(row?.answer_ran)),
    };
  };
  const systemSeries = Array.from({ length: steps }, (_, i) => {
    const at = start + i * stepMs;
    // The last step is still going: its rate is over the part gone by.
    const seconds = Math.min(stepMs, end - at) / 1000;
    return { at: new Date(at).toISOString(), ...figuresOf(String(at), seconds) };
  });

  const trendSince =
    query.window === 'hour'
      ? new Date(Math.floor(end / 3_600_000) * 3_600_000 - 23 * 3_600_000)
      : new Date(Date.parse(utcDay(now)) - 13 * 86_400_000);
  const filters = {
    ...(query.tenant ? { tenant: query.tenant } : {}),
    ...(query.tenants ? { tenants: query.tenants } : {}),
    ...(query.channel ? { channel: query.channel } : {}),
  };
  const [business] = await businessFigures(
    analytics,
    { from: utcDay(since), to: utcDay(now), since, until: new Date(end + 1), ...filters },
    now,
    abandonAfterMinutes,
  );
  const step = query.window === 'hour' ? 'hour' : 'day';
  const trend = await businessFigures(
    analytics,
    {
      from: utcDay(trendSince),
      to: utcDay(now),
      since: trendSince,
      until: new Date(end + 1),
      by: [step],
      ...filters,
    },
    now,
    abandonAfterMinutes,
  );

  return {
    window: query.window,
    from: since.toISOString(),
    to: now.toISOString(),
    stepSeconds,
    system: {
      ...figuresOf('all', (end - start) / 1000),
      liveQps: num(turnsBy.get('all')?.last_minute) / 60,
      loggedErrors: logged ? num(logged.rows[0]?.count) : null,
    },
    systemSeries,
    business: business ?? emptyFigures({}),
    businessTrend: { step, figures: trend },
  };
}

/** The tenant and channel a view is limited to, on a table with `tenant` and `channel` columns. */
function scope(query: OverviewQuery): RawBuilder<unknown> {
  const parts = [sql`true`];
  if (query.tenant !== undefined) parts.push(sql`tenant = ${query.tenant}`);
  if (query.channel !== undefined) parts.push(sql`channel = ${query.channel}`);
  if (query.tenants) {
    parts.push(
      query.tenants.length ? sql`tenant in (${sql.join(query.tenants.map((t) => sql`${t}`))})` : sql`false`,
    );
  }
  return sql.join(parts, sql` and `);
}
