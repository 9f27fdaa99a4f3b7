import type { ProfileSummary } from './cpu-profile';
import type { Usage } from './resources';

export type Target = 'baseline' | 'hub';

export interface StageFigures {
  count: number;
  meanMs: number;
  p50Ms: number;
  p99Ms: number;
}

export interface PhaseResult {
  target: Target;
  concurrency: number;
  /** Measured in this many slices, alternating with the other target. */
  rounds: number;
  messagesPerS: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  meanMs: number;
  /** Completed inside the measured window. */
  measured: number;
  /** Sent in the whole phase, warm-up included. */
  sent: number;
  errors: number;
  errorSamples: string[];
  /** Requests that ended while `usage` and `stages` were measured (after warm-up): their divisor. */
  usageMessages: number;
  /** Chat completions the LLM emulator served during the phase. */
  llmCalls: number;
  /** Average request body the emulator received, bytes (sampled). */
  llmRequestBytes: number;
  usage: Usage;
  /** Hub only: its stage histograms after warm-up (bucket estimates). */
  stages?: Record<string, StageFigures>;
  /** Requests the hub sent to Redis in the measured window (a command or a pipeline each); hub only. */
  redisRequests?: number;
  /** The hub's `hub_db_statements_total` over the measured window (the hub target only). */
  dbStatements?: number;
}

/** "PostgreSQL statements per message": the hub's statement counter over `usageMessages`, per client count. */
export function statementsLine(results: PhaseResult[]): string | undefined {
  const hub = results.filter((r) => r.target === 'hub' && r.dbStatements !== undefined);
  if (hub.length === 0) return undefined;
  const figures = hub.map(
    (r) =>
      `${fixed((r.dbStatements ?? 0) / Math.max(1, r.usageMessages), 2)} at ${r.concurrency} client${r.concurrency === 1 ? '' : 's'}`,
  );
  return `PostgreSQL statements per message (measured window, hub_db_statements_total, BEGIN/COMMIT included): ${figures.join(', ')}`;
}

export interface Comparison {
  concurrency: number;
  throughputRatio: number;
  addedP50Ms: number;
  addedP99Ms: number;
  throughputMet: boolean;
  /** The added-latency aim is set at one client only; undefined at other client counts. */
  latencyMet: boolean | undefined;
}

export const AIM_THROUGHPUT_RATIO = 0.25;
/** Added p99 at one client (a single conversation: nothing but the hub's own path to wait for). */
export const AIM_ADDED_P99_MS = 15;

const fixed = (value: number, digits = 1) => (Number.isFinite(value) ? value.toFixed(digits) : '-');
const signed = (value: number) => `${value >= 0 ? '+' : ''}${fixed(value)}`;

function table(headers: string[], rows: string[][], alignLeft = 1): string {
  const widths = headers.map((header, i) =>
    Math.max(header.length, ...rows.map((row) => (row[i] ?? '').length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i < alignLeft ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
      .join('  ');
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export function compare(baseline: PhaseResult, hub: PhaseResult): Comparison {
  const throughputRatio = hub.messagesPerS / baseline.messagesPerS;
  const addedP50Ms = hub.p50Ms - baseline.p50Ms;
  const addedP99Ms = hub.p99Ms - baseline.p99Ms;
  return {
    concurrency: hub.concurrency,
    throughputRatio,
    addedP50Ms,
    addedP99Ms,
    throughputMet: throughputRatio >= AIM_THROUGHPUT_RATIO,
    latencyMet: hub.concurrency === 1 ? addedP99Ms <= AIM_ADDED_P99_MS : undefined,
  };
}

export function resultsTable(results: PhaseResult[]): string {
  return table(
    [
      'target',
      'clients',
      'msgs/s',
      'p50 ms',
      'p90 ms',
      'p99 ms',
      'max ms',
      'measured',
      'sent',
      'errors',
      'LLM calls',
    ],
    results.map((r) => [
      r.target,
      String(r.concurrency),
      fixed(r.messagesPerS),
      fixed(r.p50Ms, 2),
      fixed(r.p90Ms, 2),
      fixed(r.p99Ms, 2),
      fixed(r.maxMs, 1),
      String(r.measured),
      String(r.sent),
      String(r.errors),
      String(r.llmCalls),
    ]),
    1,
  );
}

export function comparisonTable(comparisons: Comparison[]): string {
  const verdict = (met: boolean | undefined) => (met === undefined ? '-' : met ? 'met' : 'NOT met');
  return table(
    [
      'clients',
      'hub/baseline msgs/s',
      `aim >= ${AIM_THROUGHPUT_RATIO}x`,
      'added p50 ms',
      'added p99 ms',
      `aim p99 <= ${AIM_ADDED_P99_MS} ms at 1 client`,
    ],
    comparisons.map((c) => [
      String(c.concurrency),
      `${fixed(c.throughputRatio, 3)}x`,
      verdict(c.throughputMet),
      signed(c.addedP50Ms),
      signed(c.addedP99Ms),
      verdict(c.latencyMet),
    ]),
    0,
  );
}

export function stageTable(results: PhaseResult[]): string {
  const rows: string[][] = [];
  for (const r of results) {
    if (!r.stages) continue;
    for (const stage of ['queue', 'retrieve', 'generate', 'turn', 'ingress']) {
      const s = r.stages[stage];
      if (!s || s.count === 0) continue;
      rows.push([
        String(r.concurrency),
        stage,
        String(s.count),
        fixed(s.meanMs, 2),
        fixed(s.p50Ms, 2),
        fixed(s.p99Ms, 2),
      ]);
    }
    const mean = (stage: string) => r.stages?.[stage]?.meanMs ?? 0;
    if (r.stages.turn) {
      rows.push([
        String(r.concurrency),
        '= turn - retrieve - generate (store, state, feed)',
        '',
        fixed(mean('turn') - mean('retrieve') - mean('generate'), 2),
        '',
        '',
      ]);
      rows.push([
        String(r.concurrency),
        '= client - queue - turn (HTTP, publish, reply wait)',
        '',
        // The client's window and the histograms' cover slightly different messages; under heavy
        // queueing that can make the difference meaningless.
        r.meanMs - mean('queue') - mean('turn') >= 0
          ? fixed(r.meanMs - mean('queue') - mean('turn'), 2)
          : 'n/a',
        '',
        '',
      ]);
    }
    rows.push([
      String(r.concurrency),
      'end to end (client)',
      String(r.measured),
      fixed(r.meanMs, 2),
      fixed(r.p50Ms, 2),
      fixed(r.p99Ms, 2),
    ]);
  }
  return table(['clients', 'stage', 'count', 'mean ms', '~p50 ms', '~p99 ms'], rows, 2);
}

/** CPU ms each process spent per message, and cores busy on average, per phase. */
export function cpuTable(results: PhaseResult[]): string {
  const labels = [...new Set(results.flatMap((r) => Object.keys(r.usage.cpuMs)))];
  const rows = results.map((r) => {
    const per = (ms: number) => fixed(ms / Math.max(1, r.usageMessages), 3);
    const total = Object.values(r.usage.cpuMs).reduce((sum, ms) => sum + ms, 0);
    return [
      r.target,
      String(r.concurrency),
      ...labels.map((label) => per(r.usage.cpuMs[label] ?? 0)),
      per(total),
      fixed(total / r.usage.wallMs, 2),
    ];
  });
  return table(['target', 'clients', ...labels, 'all', 'cores busy'], rows, 1);
}

export function redisTable(results: PhaseResult[], limit = 12): string {
  const commands = new Map<string, number>();
  for (const r of results)
    for (const [command, calls] of r.usage.redisCalls)
      commands.set(command, (commands.get(command) ?? 0) + calls / Math.max(1, r.usageMessages));
  const top = [...commands.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([command]) => command);
  const rows = results.map((r) => {
    const calls = new Map(r.usage.redisCalls);
    const per = (n: number) => fixed(n / Math.max(1, r.usageMessages), 2);
    const total = r.usage.redisCalls.reduce((sum, [, n]) => sum + n, 0);
    return [
      r.target,
      String(r.concurrency),
      per(total),
      ...top.map((command) => per(calls.get(command) ?? 0)),
    ];
  });
  return table(['target', 'clients', 'all', ...top], rows, 1);
}

/** The hub's Redis round trips per message (its own count, hub_redis_requests_total), per client count. */
export function redisRoundTripsLine(results: PhaseResult[]): string {
  const figures = results
    .filter((r) => r.redisRequests !== undefined)
    .map(
      (r) =>
        `${fixed((r.redisRequests ?? 0) / Math.max(1, r.usageMessages), 2)} at ${r.concurrency} client${r.concurrency === 1 ? '' : 's'}`,
    );
  return `Redis round trips per message (the hub's requests: a command or a pipeline each): ${figures.length ? figures.join(', ') : 'not reported by the hub'}`;
}

export function profileReport(summary: ProfileSummary): string {
  const list = (items: ProfileSummary['byArea']) =>
    items
      .map(
        (item) =>
          `  ${fixed(item.share * 100).padStart(5)}%  ${fixed(item.ms, 0).padStart(7)} ms  ${item.name}`,
      )
      .join('\n');
  return [
    `sampled ${fixed(summary.totalMs, 0)} ms of the hub's main thread during its load windows${summary.windowed ? '' : ' (no sample matched the windows: whole profile)'}, ${fixed(summary.busyMs, 0)} ms busy; shares are of busy time`,
    'self time by area:',
    list(summary.byArea),
    'self time by the area that asked for it (native and Node-internal work charged to the nearest package or repository frame):',
    list(summary.byCallerArea),
    'self time by function:',
    list(summary.selfByFunction),
    'self time charged to the nearest package or repository frame (who calls the native and Node-internal work):',
    list(summary.selfByCaller),
    "inclusive time of the repository's own functions:",
    list(summary.inclusiveOwn),
  ].join('\n');
}
