/**
 * The hub's `hub_stage_latency_seconds` histograms and its database statement counter
 * (`hub_db_statements_total`), scraped from /metrics, diffed over a window.
 */

export interface Histogram {
  /** Upper bounds in seconds, ascending, ending with Infinity. */
  bounds: number[];
  /** Cumulative counts per bound. */
  cumulative: number[];
  sum: number;
  count: number;
}

export type StageHistograms = Map<string, Histogram>;

const BUCKET = /^hub_stage_latency_seconds_bucket\{([^}]*)\} (\S+)$/;
const SUM = /^hub_stage_latency_seconds_sum\{([^}]*)\} (\S+)$/;
const COUNT = /^hub_stage_latency_seconds_count\{([^}]*)\} (\S+)$/;

function labels(text: string): Record<string, string> {
  return Object.fromEntries([...text.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
}

export function parseStageHistograms(exposition: string): StageHistograms {
  const stages: StageHistograms = new Map();
  const of = (stage: string) => {
    let histogram = stages.get(stage);
    if (!histogram) {
      histogram = { bounds: [], cumulative: [], sum: 0, count: 0 };
      stages.set(stage, histogram);
    }
    return histogram;
  };
  for (const line of exposition.split('\n')) {
    let match = BUCKET.exec(line);
    if (match) {
      const { stage, le } = labels(match[1] ?? '');
      if (!stage || !le) continue;
      const histogram = of(stage);
      histogram.bounds.push(le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le));
      histogram.cumulative.push(Number(match[2]));
      continue;
    }
    match = SUM.exec(line);
    if (match) {
      const { stage } = labels(match[1] ?? '');
      if (stage) of(stage).sum = Number(match[2]);
      continue;
    }
    match = COUNT.exec(line);
    if (match) {
      const { stage } = labels(match[1] ?? '');
      if (stage) of(stage).count = Number(match[2]);
    }
  }
  return stages;
}

const STATEMENTS = /^hub_db_statements_total(?:\{[^}]*\})? (\S+)$/;

/** `hub_db_statements_total`, all drivers added up: every statement the hub sent its database. */
export function parseDbStatements(exposition: string): number {
  let total = 0;
  for (const line of exposition.split('\n')) {
    const match = STATEMENTS.exec(line);
    if (match) total += Number(match[1]);
  }
  return total;
}

/** One scrape of the hub's /metrics. */
export interface HubScrape {
  stages: StageHistograms;
  dbStatements: number;
  /** Absent from a hub without the counter. */
  redisRequests?: number;
}

export async function scrapeHub(hubUrl: string): Promise<HubScrape> {
  const response = await fetch(`${hubUrl}/metrics`);
  const text = await response.text();
  const redisRequests = parseRedisRequests(text);
  return {
    stages: parseStageHistograms(text),
    dbStatements: parseDbStatements(text),
    ...(redisRequests === undefined ? {} : { redisRequests }),
  };
}

/** What was observed between two scrapes. */
export function diffStages(before: StageHistograms, after: StageHistograms): StageHistograms {
  const result: StageHistograms = new Map();
  for (const [stage, now] of after) {
    const then = before.get(stage);
    result.set(stage, {
      bounds: now.bounds,
      cumulative: now.cumulative.map((value, i) => value - (then?.cumulative[i] ?? 0)),
      sum: now.sum - (then?.sum ?? 0),
      count: now.count - (then?.count ?? 0),
    });
  }
  return result;
}

/** Quantile estimated the way Prometheus' histogram_quantile does: linear within the bucket. */
export function histogramQuantile(histogram: Histogram, q: number): number {
  const total = histogram.count;
  if (total <= 0) return Number.NaN;
  const rank = q * total;
  for (let i = 0; i < histogram.bounds.length; i++) {
    const cumulative = histogram.cumulative[i] ?? 0;
    if (cumulative >= rank) {
      const upper = histogram.bounds[i] ?? Number.POSITIVE_INFINITY;
      const lower = i === 0 ? 0 : (histogram.bounds[i - 1] ?? 0);
      if (!Number.isFinite(upper)) return lower;
      const below = i === 0 ? 0 : (histogram.cumulative[i - 1] ?? 0);
      const inBucket = cumulative - below;
      return inBucket > 0 ? lower + ((upper - lower) * (rank - below)) / inBucket : upper;
    }
  }
  return Number.NaN;
}

/** The hub's `hub_redis_requests_total` (Redis round trips: a command or a pipeline each), from /metrics. */
export function parseRedisRequests(exposition: string): number | undefined {
  const match = /^hub_redis_requests_total (\S+)$/m.exec(exposition);
  return match ? Number(match[1]) : undefined;
}
