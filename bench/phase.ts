import type { OpenAiEmulator } from '../test/emulators/openai-emulator';
import {
  diffStages,
  type Histogram,
  type HubScrape,
  histogramQuantile,
  type StageHistograms,
  scrapeHub,
} from './hub-metrics';
import { type LoadOptions, percentile, runLoad } from './load';
import type { PhaseResult, StageFigures, Target } from './report';
import { type ResourceProbe, type Snapshot, type Usage, usageBetween } from './resources';

/**
 * The LLM emulator keeps every request it got; under load that is memory that grows. This counts the
 * chat completions as they come and empties the log, sampling one request body each time.
 */
export class LlmLog {
  calls = 0;
  private bodyBytes = 0;
  private bodySamples = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly llm: OpenAiEmulator) {
    this.timer = setInterval(() => this.drain(), 250);
  }

  drain(): void {
    const chats = this.llm.requests.filter((r) => r.path === '/v1/chat/completions');
    this.calls += chats.length;
    const last = chats.at(-1);
    if (last) {
      this.bodySamples++;
      this.bodyBytes += JSON.stringify(last.body).length;
    }
    this.llm.reset();
  }

  /** Average sampled request body since the last call, bytes. */
  takeAverageBody(): { bytes: number; samples: number } {
    const result = { bytes: this.bodyBytes, samples: this.bodySamples };
    this.bodyBytes = 0;
    this.bodySamples = 0;
    return result;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/** One stretch of load on one target: warm-up, then a measured window. */
export interface Slice {
  target: Target;
  clients: number;
  load: Awaited<ReturnType<typeof runLoad>>;
  usage: Usage;
  stages?: StageHistograms;
  /** Statements the hub sent PostgreSQL in the window (`hub_db_statements_total`). */
  dbStatements?: number;
  /** Requests the hub sent to Redis in the window (its hub_redis_requests_total). */
  redisRequests?: number;
  llmCalls: number;
  llmBody: { bytes: number; samples: number };
  /** Measured window, process.hrtime.bigint() ns. */
  window: [bigint, bigint];
}

export interface SliceDeps {
  probe: ResourceProbe;
  llmLog: LlmLog;
  /** Set for the hub: its /metrics are scraped at both ends of the window. */
  hubUrl?: string;
}

export async function measureSlice(
  target: Target,
  load: Omit<LoadOptions, 'atWindowStart'>,
  deps: SliceDeps,
): Promise<Slice> {
  deps.llmLog.drain();
  deps.llmLog.takeAverageBody();
  const calls = deps.llmLog.calls;
  const { hubUrl } = deps;
  // Usage and stages cover the measured window: from the end of warm-up to the last answer, the
  // ones still in flight when the window closed included.
  let opened: Promise<{ snapshot: Snapshot; hub?: HubScrape }> | undefined;
  const result = await runLoad({
    ...load,
    atWindowStart: () => {
      opened = Promise.all([deps.probe.snapshot(), hubUrl ? scrapeHub(hubUrl) : undefined]).then(
        ([snapshot, hub]) => ({ snapshot, hub }),
      );
    },
  });
  const [after, hubAfter] = await Promise.all([
    deps.probe.snapshot(),
    hubUrl ? scrapeHub(hubUrl) : undefined,
  ]);
  if (!opened) throw new Error('the measured window never opened');
  const before = await opened;
  deps.llmLog.drain();
  return {
    target,
    clients: load.concurrency,
    load: result,
    usage: usageBetween(before.snapshot, after),
    stages: before.hub && hubAfter ? diffStages(before.hub.stages, hubAfter.stages) : undefined,
    ...(before.hub && hubAfter ? { dbStatements: hubAfter.dbStatements - before.hub.dbStatements } : {}),
    ...(before.hub?.redisRequests !== undefined && hubAfter?.redisRequests !== undefined
      ? { redisRequests: hubAfter.redisRequests - before.hub.redisRequests }
      : {}),
    llmCalls: deps.llmLog.calls - calls,
    llmBody: deps.llmLog.takeAverageBody(),
    window: [before.snapshot.at, after.at],
  };
}

function addHistograms(a: Histogram | undefined, b: Histogram): Histogram {
  if (!a) return b;
  return {
    bounds: b.bounds,
    cumulative: b.cumulative.map((value, i) => value + (a.cumulative[i] ?? 0)),
    sum: a.sum + b.sum,
    count: a.count + b.count,
  };
}

function addUsage(a: Usage | undefined, b: Usage): Usage {
  if (!a) return b;
  const cpuMs = { ...a.cpuMs };
  for (const [label, ms] of Object.entries(b.cpuMs)) cpuMs[label] = (cpuMs[label] ?? 0) + ms;
  const calls = new Map(a.redisCalls);
  for (const [command, n] of b.redisCalls) calls.set(command, (calls.get(command) ?? 0) + n);
  return {
    cpuMs,
    redisCalls: [...calls.entries()].sort((x, y) => y[1] - x[1]),
    wallMs: a.wallMs + b.wallMs,
  };
}

function stageFigures(stages: StageHistograms): Record<string, StageFigures> {
  const figures: Record<string, StageFigures> = {};
  for (const [stage, h] of stages) {
    figures[stage] = {
      count: h.count,
      meanMs: h.count ? (h.sum / h.count) * 1000 : Number.NaN,
      p50Ms: histogramQuantile(h, 0.5) * 1000,
      p99Ms: histogramQuantile(h, 0.99) * 1000,
    };
  }
  return figures;
}

/** The slices of one target at one client count (its rounds), as one result. */
export function mergeSlices(slices: Slice[]): PhaseResult {
  const first = slices[0];
  if (!first) throw new Error('no slices to merge');
  const latencies = slices.flatMap((s) => s.load.latenciesMs).sort((a, b) => a - b);
  const measured = latencies.length;
  const windowS = slices.reduce((sum, s) => sum + s.load.windowS, 0);
  let usage: Usage | undefined;
  let stages: StageHistograms | undefined;
  for (const slice of slices) {
    usage = addUsage(usage, slice.usage);
    if (slice.stages) {
      const merged: StageHistograms = stages ?? new Map();
      for (const [stage, histogram] of slice.stages)
        merged.set(stage, addHistograms(merged.get(stage), histogram));
      stages = merged;
    }
  }
  const body = slices.reduce(
    (sum, s) => ({ bytes: sum.bytes + s.llmBody.bytes, samples: sum.samples + s.llmBody.samples }),
    { bytes: 0, samples: 0 },
  );
  return {
    target: first.target,
    concurrency: first.clients,
    rounds: slices.length,
    messagesPerS: measured / windowS,
    p50Ms: percentile(latencies, 0.5),
    p90Ms: percentile(latencies, 0.9),
    p99Ms: percentile(latencies, 0.99),
    maxMs: latencies.at(-1) ?? Number.NaN,
    meanMs: latencies.reduce((sum, v) => sum + v, 0) / Math.max(1, measured),
    measured,
    sent: slices.reduce((sum, s) => sum + s.load.sent, 0),
    errors: slices.reduce((sum, s) => sum + s.load.errors, 0),
    errorSamples: slices.flatMap((s) => s.load.errorSamples).slice(0, 5),
    usageMessages: slices.reduce((sum, s) => sum + s.load.endedAfterWarmup, 0),
    llmCalls: slices.reduce((sum, s) => sum + s.llmCalls, 0),
    llmRequestBytes: body.samples ? body.bytes / body.samples : 0,
    usage: usage ?? { cpuMs: {}, redisCalls: [], wallMs: 0 },
    stages: stages ? stageFigures(stages) : undefined,
    ...(slices.some((s) => s.dbStatements !== undefined)
      ? { dbStatements: slices.reduce((sum, s) => sum + (s.dbStatements ?? 0), 0) }
      : {}),
    redisRequests: slices.every((s) => s.redisRequests !== undefined)
      ? slices.reduce((sum, s) => sum + (s.redisRequests ?? 0), 0)
      : undefined,
  };
}
