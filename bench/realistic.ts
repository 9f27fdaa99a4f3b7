/**
 * `npm run bench:realistic`: many multi-turn conversations, Chinese and English, through the hub in
 * production shape (REST → BullMQ → dialog → PostgreSQL) against an LLM emulator with GPU-like
 * timing and a concurrency cap (vLLM's max-num-seqs). Prints delivered turns/s against the
 * emulator's capacity, the latency the hub adds to the model's, model requests and GPU time per
 * turn, exactly-once and order checks and the hub's RSS over time. `--overload F` offers F times the
 * measured capacity, open loop, with `bus.admission` limits on the hub and web chat customers beside
 * the REST load, and checks that nothing accepted is lost and that admission control behaves as
 * configured. Exits 1 on a wrong, duplicated or lost answer or admission behaving otherwise; aims
 * not met are reported, not failed.
 *
 * Options: --conversations 200  --duration 60 (s)  --warmup 5 (s)  --cap 64  --ttft-ms 300  --token-ms 25
 *          --answer-tokens 60  --flow-share 0.25  --llm-tier sequential,speculative,sequential+light
 *          (one hub per value, same run; +light: a light model emulator classifies and rewrites)
 *          --light-ttft-ms 80  --light-token-ms 8
 *          --bus-concurrency (default max(conversations, 2 × cap))  --overload F  --drain S  --timeout 120000 (ms)  --json FILE
 *          with --overload: --admission-age-ms 5000  --admission-backlog 0 (off)  --retry-after 2 (s)  --webchat 10
 *          (bus.admission of the hub, and web chat customers beside the REST load)
 *          --scale-out 1,2,4 (one API process and N worker processes per value, emulator uncapped:
 *          --cap 100000, --duration 20 unless given; prints turns/s per N, CPU and load side by side)
 *          --redis-cluster (with --scale-out: the same runs again on a local Redis Cluster, 3 masters + 3 replicas)
 *          --workers N (not with --scale-out: the hub as one --role api process and N --role worker
 *          processes instead of one process; ingress acks and RSS are the API process's)
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import pg from 'pg';
import {
  type ChatBody,
  type ChatKind,
  type EmulatorStats,
  type OpenAiEmulator,
  type ScriptedReply,
  startOpenAiEmulator,
} from '../test/emulators/openai-emulator';
import {
  REDIS_CLUSTER_SKIP_REASON,
  redisClusterAvailable,
  startRedisCluster,
  type TestCluster,
} from '../test/support/redis-cluster';
import { numberArg } from './args';
import { hubRuntimeEnv } from './children';
import { conversationPool } from './conversations';
import { percentile } from './load';
import { type RealisticHubOptions, rssMiB, startRealisticHub } from './realistic-hub';
import {
  AnswerBook,
  accepted,
  attributeModelTime,
  closedLoop,
  type LoadContext,
  modelWallMs,
  openLoop,
  type TurnRecord,
  windowTurns,
} from './realistic-load';
import {
  bottleneckLine,
  machineCpuS,
  parseWorkerCounts,
  processCpuS,
  type ScaleOutRun,
  scaleOutTable,
} from './scale-out';
import { probeChecks, webchatProbe } from './webchat-probe';

const ROOT = join(import.meta.dirname, '..');
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const PG_ADMIN_URL = process.env.BENCH_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const AIMS = { capacityRatio: 0.95, addedP50Ms: 100, addedP99Ms: 500, ackP99Ms: 50 };

const { values: args } = parseArgs({
  options: {
    conversations: { type: 'string', default: '200' },
    duration: { type: 'string' },
    warmup: { type: 'string', default: '5' },
    cap: { type: 'string' },
    'ttft-ms': { type: 'string', default: '300' },
    'token-ms': { type: 'string', default: '25' },
    'answer-tokens': { type: 'string', default: '60' },
    'flow-share': { type: 'string', default: '0.25' },
    'light-ttft-ms': { type: 'string', default: '80' },
    'light-token-ms': { type: 'string', default: '8' },
    'llm-tier': { type: 'string' },
    'bus-concurrency': { type: 'string' },
    overload: { type: 'string' },
    'admission-age-ms': { type: 'string', default: '5000' },
    'admission-backlog': { type: 'string', default: '0' },
    'retry-after': { type: 'string', default: '2' },
    webchat: { type: 'string', default: '10' },
    drain: { type: 'string' },
    timeout: { type: 'string', default: '120000' },
    json: { type: 'string' },
    'scale-out': { type: 'string' },
    'redis-cluster': { type: 'boolean', default: false },
    workers: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});

if (args.help) {
  console.log(
    'npm run bench:realistic -- [--conversations 200] [--duration 60] [--warmup 5] [--cap 64] [--ttft-ms 300] [--token-ms 25] [--answer-tokens 60] [--flow-share 0.25] [--llm-tier sequential,speculative,sequential+light] [--light-ttft-ms 80] [--light-token-ms 8] [--bus-concurrency N] [--overload 3 [--admission-age-ms 5000] [--admission-backlog 0] [--retry-after 2] [--webchat 10]] [--drain S] [--timeout 120000] [--json FILE] [--scale-out 1,2,4 [--redis-cluster]] [--workers N]',
  );
  process.exit(0);
}

const bounded = numberArg('bench:realistic');
const conversations = Math.round(bounded('conversations', args.conversations, 1, 2000));
/** Worker counts of a scale-out run (one API process and N workers each); undefined: one `all` hub. */
let scaleOut: number[] | undefined;
try {
  scaleOut = args['scale-out'] === undefined ? undefined : parseWorkerCounts(args['scale-out']);
} catch (error) {
  console.error(`bench:realistic: ${(error as Error).message}`);
  process.exit(2);
}
if (scaleOut && args.workers !== undefined) {
  console.error('bench:realistic: --workers is for one hub; --scale-out gives the worker counts itself');
  process.exit(2);
}
if (scaleOut && (args.overload !== undefined || args['llm-tier']?.includes(','))) {
  console.error(
    'bench:realistic: --scale-out runs closed loop on one tier; leave out --overload and give one --llm-tier',
  );
  process.exit(2);
}
// A scale-out run is short per worker count, and its emulator uncapped: the hub, not the model, limits.
const durationS = bounded('duration', args.duration ?? (scaleOut ? '20' : '60'), 1, 600);
const warmupS = bounded('warmup', args.warmup, 0, 120);
const cap = Math.round(
  bounded('cap', args.cap ?? (scaleOut ? '100000' : '64'), 1, scaleOut ? 100_000 : 1024),
);
const gpu = {
  timeToFirstTokenMs: bounded('ttft-ms', args['ttft-ms'], 0, 10_000),
  tokenMs: bounded('token-ms', args['token-ms'], 0, 1000),
  answerTokens: Math.round(bounded('answer-tokens', args['answer-tokens'], 1, 4096)),
  maxConcurrent: cap,
};
const lightGpu = {
  timeToFirstTokenMs: bounded('light-ttft-ms', args['light-ttft-ms'], 0, 10_000),
  tokenMs: bounded('light-token-ms', args['light-token-ms'], 0, 1000),
  maxConcurrent: cap,
};
const flowShare = bounded('flow-share', args['flow-share'], 0, 1);
// Every conversation's turn reaches the model at once: waits are then the model's queue, not the bus's.
// Uncapped (scale-out), every conversation's turn reaches the model at once through any one worker.
const busConcurrency = Math.round(
  bounded(
    'bus-concurrency',
    args['bus-concurrency'] ?? String(scaleOut ? conversations : Math.max(conversations, 2 * cap)),
    1,
    4096,
  ),
);
const overload = args.overload === undefined ? undefined : bounded('overload', args.overload, 1, 20);
const timeoutMs = bounded('timeout', args.timeout, 1000, 600_000);
/** `sequential`, `speculative`, either with `+light` (a light model classifies and rewrites); undefined: the default. */
const tiers: Array<string | undefined> = args['llm-tier']
  ? args['llm-tier'].split(',').map((t) => t.trim())
  : [undefined];
/** `bus.admission` of an overload run's hub (0: that limit off), and how many web chat customers write beside the REST load. */
const admission = {
  maxQueueAgeMs: Math.round(bounded('admission-age-ms', args['admission-age-ms'], 0, 600_000)),
  maxBacklog: Math.round(bounded('admission-backlog', args['admission-backlog'], 0, 1_000_000)),
  retryAfterSeconds: Math.round(bounded('retry-after', args['retry-after'], 1, 3600)),
};
const webchatCustomers = Math.round(bounded('webchat', args.webchat, 0, 500));
/** `--workers N`: the hub as an API process and N worker processes; undefined: one process with both roles. */
const hubWorkers =
  args.workers === undefined ? undefined : Math.round(bounded('workers', args.workers, 1, 16));
const drainS =
  args.drain === undefined
    ? ((overload ?? 1) - 1) * durationS * 1.5 + 30
    : bounded('drain', args.drain, 0, 3600);

/**
 * What the model answers the LLM intent tier: for `share` of the messages (chosen by a hash of the
 * text, so every tier sees the same) an intent with a flow of its own, confidently, as a real model
 * does for "I want to return it" that rules and classifier missed; for the rest the emulator's
 * default (an intent the message names, else unknown: answered from the knowledge base).
 */
function classifyReplies(share: number) {
  return (body: ChatBody, kind: ChatKind): ScriptedReply | undefined => {
    if (kind !== 'classify' || share <= 0) return undefined;
    const text = body.messages?.findLast((m) => m.role === 'user')?.content ?? '';
    const hash = createHash('sha256').update(text).digest();
    if (hash.readUInt32BE(0) / 2 ** 32 >= share) return undefined;
    const schema = (
      body.response_format as { json_schema?: { schema?: { properties?: { intent?: { enum?: string[] } } } } }
    )?.json_schema?.schema;
    const names = (schema?.properties?.intent?.enum ?? []).filter(
      (n) => !['faq', 'unknown', 'handoff'].includes(n),
    );
    if (!names.length) return undefined;
    return { text: JSON.stringify({ intent: names[hash.readUInt32BE(4) % names.length], confidence: 0.9 }) };
  };
}

const KINDS: ChatKind[] = ['classify', 'rewrite', 'answer', 'probe', 'other'];

interface ModelUse {
  turns: number;
  requestsPerTurn: Record<ChatKind, number>;
  abortedPerTurn: number;
  gpuSPerTurn: number;
  /** Turns/s the emulator could serve at this cost: slots / GPU-seconds per turn. */
  capacity: number;
  meanQueueMs: number;
  maxQueued: number;
}

function modelUse(before: EmulatorStats, after: EmulatorStats, turns: number): ModelUse {
  const delta = (kind: ChatKind, key: 'requests' | 'aborted' | 'busyMs' | 'queuedMs') =>
    after.byKind[kind][key] - before.byKind[kind][key];
  const sum = (key: 'requests' | 'aborted' | 'busyMs' | 'queuedMs') =>
    KINDS.reduce((total, kind) => total + delta(kind, key), 0);
  const per = Math.max(1, turns);
  const gpuSPerTurn = sum('busyMs') / 1000 / per;
  return {
    turns,
    requestsPerTurn: Object.fromEntries(KINDS.map((k) => [k, delta(k, 'requests') / per])) as Record<
      ChatKind,
      number
    >,
    abortedPerTurn: sum('aborted') / per,
    gpuSPerTurn,
    capacity: gpuSPerTurn > 0 ? cap / gpuSPerTurn : Number.POSITIVE_INFINITY,
    meanQueueMs: sum('queuedMs') / Math.max(1, sum('requests')),
    maxQueued: after.maxQueued,
  };
}

const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : String(n));
const mark = (met: boolean) => (met ? 'met' : 'NOT met');

interface RssSample {
  s: number;
  mib: number;
}

function sampleRss(pid: number, every = 1000) {
  const began = performance.now();
  const samples: RssSample[] = [];
  const take = () => samples.push({ s: (performance.now() - began) / 1000, mib: rssMiB(pid) });
  take();
  const timer = setInterval(take, every);
  return {
    samples,
    stop: () => {
      clearInterval(timer);
      take();
    },
  };
}

function rssLine(samples: RssSample[]): string {
  const step = Math.max(1, Math.ceil(samples.length / 12));
  const shown = samples.filter((_, i) => i % step === 0 || i === samples.length - 1);
  const max = Math.max(...samples.map((s) => s.mib));
  return `hub RSS (MiB) over time: ${shown.map((s) => `${fmt(s.s, 0)}s ${fmt(s.mib, 0)}`).join(', ')}; max ${fmt(max, 0)}`;
}

interface Checks {
  problems: TurnRecord[];
  duplicates: number;
  lost: number;
}

function checksLine(turns: TurnRecord[], book: AnswerBook, lost: number): Checks {
  const problems = turns.filter((t) => t.problem);
  return { problems, duplicates: book.duplicates, lost };
}

function printChecks(label: string, turns: TurnRecord[], checks: Checks): void {
  const answered = turns.filter((t) => t.answeredAt !== undefined).length;
  console.log(
    `exactly-once and order (${label}): ${answered} of ${turns.length} turns answered; ${checks.problems.length} wrong (replies of another turn, out of order, missing, HTTP errors), ${checks.duplicates} delivered twice, ${checks.lost} accepted and never answered`,
  );
  for (const turn of checks.problems.slice(0, 5))
    console.log(`  ${turn.sender} turn ${turn.index} "${turn.text}": ${turn.problem}`);
}

async function runClosed(
  emulator: OpenAiEmulator,
  light: OpenAiEmulator | undefined,
  ctx: LoadContext,
  pid: number,
  label: string,
  onWindow?: (edge: 'start' | 'end') => void,
) {
  let before = emulator.stats();
  let after = before;
  let lightBefore = light?.stats();
  let lightAfter = lightBefore;
  emulator.takeServed();
  light?.takeServed();
  const rss = sampleRss(pid);
  const { turns, windowStart, windowEnd } = await closedLoop(
    ctx,
    conversations,
    warmupS * 1000,
    durationS * 1000,
    (edge) => {
      if (edge === 'start') {
        before = emulator.stats();
        lightBefore = light?.stats();
      } else {
        after = emulator.stats();
        lightAfter = light?.stats();
      }
      onWindow?.(edge);
    },
  );
  rss.stop();
  const served = [...emulator.takeServed(), ...(light?.takeServed() ?? [])];
  const { answered: measured, steady, sentBefore } = windowTurns(turns, windowStart, windowEnd);
  const use = modelUse(before, after, measured.length);
  const lightUse = lightBefore && lightAfter ? modelUse(lightBefore, lightAfter, measured.length) : undefined;
  const delivered = measured.length / durationS;
  const attributed = attributeModelTime(turns, served);
  const e2e: number[] = [];
  const model: number[] = [];
  const added: number[] = [];
  // Turns the LLM intent tier classified and the model then answered: where the tiers differ.
  const tiered: number[] = [];
  let withModel = 0;
  for (const turn of steady) {
    const requests = attributed.get(turn) ?? [];
    if (requests.length) withModel++;
    const total = (turn.answeredAt ?? 0) - turn.sentAt;
    const wall = modelWallMs(requests);
    e2e.push(total);
    model.push(wall);
    added.push(Math.max(0, total - wall));
    if (
      requests.some((r) => r.kind === 'classify') &&
      requests.some((r) => r.kind === 'answer' && !r.aborted)
    )
      tiered.push(total);
  }
  // The warm-up's burst (every conversation's first turn at once, against a cold hub): apart.
  const burstAdded = sentBefore
    .map((turn) => (turn.answeredAt ?? 0) - turn.sentAt - modelWallMs(attributed.get(turn) ?? []))
    .map((ms) => Math.max(0, ms));
  for (const list of [e2e, model, added, tiered, burstAdded]) list.sort((a, b) => a - b);
  const attributedBusy = [...attributed.values()].flat().reduce((sum, r) => sum + r.busyMs, 0);
  const windowBusy = served.reduce((sum, r) => sum + r.busyMs, 0);
  const lost = turns.filter((t) => accepted(t) && t.answeredAt === undefined && !t.problem).length;
  const checks = checksLine(turns, ctx.book, lost);
  const ratio = delivered / use.capacity;
  const addedP50 = percentile(added, 0.5);
  const addedP99 = percentile(added, 0.99);

  console.log(`\n## ${label}: ${conversations} conversations, closed loop, ${durationS} s measured\n`);
  console.log(
    scaleOut
      ? `delivered ${fmt(delivered, 2)} turns/s; emulator uncapped (${cap} slots, ${fmt(use.gpuSPerTurn, 3)} GPU-s per turn): the model is no limit here`
      : `delivered ${fmt(delivered, 2)} turns/s; emulator capacity ${fmt(use.capacity, 2)} turns/s (${cap} slots / ${fmt(use.gpuSPerTurn, 3)} GPU-s per turn): ${fmt(ratio, 3)}x (aim >= ${AIMS.capacityRatio}x: ${mark(ratio >= AIMS.capacityRatio)})`,
  );
  console.log(
    `model requests per turn: ${KINDS.filter((k) => use.requestsPerTurn[k] > 0)
      .map((k) => `${k} ${fmt(use.requestsPerTurn[k], 2)}`)
      .join(
        ', ',
      )}; aborted ${fmt(use.abortedPerTurn, 2)}; mean wait for a slot ${fmt(use.meanQueueMs, 0)} ms, at most ${use.maxQueued} waiting`,
  );
  if (lightUse)
    console.log(
      `light model (classification, rewrites; its own GPU): ${KINDS.filter(
        (k) => lightUse.requestsPerTurn[k] > 0,
      )
        .map((k) => `${k} ${fmt(lightUse.requestsPerTurn[k], 2)}`)
        .join(', ')} per turn, ${fmt(lightUse.gpuSPerTurn, 3)} GPU-s per turn`,
    );
  console.log(
    `turn latency (client, sent → replies read): p50 ${fmt(percentile(e2e, 0.5), 0)} ms, p99 ${fmt(percentile(e2e, 0.99), 0)} ms; model wall time per turn p50 ${fmt(percentile(model, 0.5), 0)} ms, p99 ${fmt(percentile(model, 0.99), 0)} ms`,
  );
  console.log(
    `hub-added latency (turn latency - time its model requests were open, slot waits included): p50 ${fmt(addedP50, 0)} ms (aim <= ${AIMS.addedP50Ms}: ${mark(addedP50 <= AIMS.addedP50Ms)}), p99 ${fmt(addedP99, 0)} ms (aim <= ${AIMS.addedP99Ms}: ${mark(addedP99 <= AIMS.addedP99Ms)})`,
  );
  console.log(
    `turns sent during the warm-up and answered in the window (${sentBefore.length}; counted in turns/s, not in the latencies above): hub-added p50 ${fmt(percentile(burstAdded, 0.5), 0)} ms, p99 ${fmt(percentile(burstAdded, 0.99), 0)} ms`,
  );
  console.log(
    `turns classified by the LLM tier and answered by the model (${tiered.length}): latency p50 ${fmt(percentile(tiered, 0.5), 0)} ms, p99 ${fmt(percentile(tiered, 0.99), 0)} ms`,
  );
  console.log(
    `matching: ${withModel} of ${steady.length} measured turns had model requests found by their text; ${fmt((100 * attributedBusy) / Math.max(1, windowBusy), 1)} % of all GPU time of the run attributed to a turn`,
  );
  printChecks(label, turns, checks);
  console.log(rssLine(rss.samples));
  return {
    label,
    delivered,
    ratio,
    use,
    lightGpuSPerTurn: lightUse?.gpuSPerTurn ?? 0,
    latency: {
      e2eP50: percentile(e2e, 0.5),
      e2eP99: percentile(e2e, 0.99),
      modelP50: percentile(model, 0.5),
      tieredTurns: tiered.length,
      tieredP50: percentile(tiered, 0.5),
      tieredP99: percentile(tiered, 0.99),
      addedP50,
      addedP99,
    },
    matchedTurns: withModel,
    checks: { problems: checks.problems.length, duplicates: checks.duplicates, lost: checks.lost },
    rss: rss.samples,
    failed: checks.problems.length > 0 || checks.duplicates > 0 || checks.lost > 0,
  };
}

/** The hub's `bus.admission` in an overload run: the limits given (0 left out), Retry-After, default typing. */
function admissionSettings(): Record<string, number> {
  return {
    ...(admission.maxQueueAgeMs ? { maxQueueAgeMs: admission.maxQueueAgeMs } : {}),
    ...(admission.maxBacklog ? { maxBacklog: admission.maxBacklog } : {}),
    retryAfterSeconds: admission.retryAfterSeconds,
  };
}

/** `hub_admission_busy_total` of the hub by channel and outcome (refused, queued), summed over reasons. */
async function admissionCounts(url: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const counts: Record<string, number> = {};
  for (const match of text.matchAll(
    /^hub_admission_busy_total\{channel="([^"]+)",outcome="([^"]+)",reason="[^"]+"\} (\d+)/gm,
  )) {
    const key = `${match[1]}:${match[2]}`;
    counts[key] = (counts[key] ?? 0) + Number(match[3]);
  }
  return counts;
}

/**
 * The default tenant's backlog and its oldest message's age (s) from /metrics, sampled every 5 s
 * (a scrape costs the hub's event loop some milliseconds: as often as a Prometheus would, no more).
 * Also how long the slowest scrape took.
 */
function sampleBacklog(url: string): {
  stop(): Promise<{ maxBacklog: number; maxAgeS: number; slowestScrapeMs: number }>;
} {
  let maxBacklog = 0;
  let maxAgeS = 0;
  let slowestScrapeMs = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        const started = performance.now();
        const text = await (await fetch(`${url}/metrics`)).text();
        slowestScrapeMs = Math.max(slowestScrapeMs, performance.now() - started);
        const backlog = Number(/^hub_bus_tenant_backlog\{tenant="default"\} ([\d.]+)/m.exec(text)?.[1] ?? 0);
        const age = Number(
          /^hub_bus_tenant_oldest_age_seconds\{tenant="default"\} ([\d.]+)/m.exec(text)?.[1] ?? 0,
        );
        maxBacklog = Math.max(maxBacklog, backlog);
        maxAgeS = Math.max(maxAgeS, age);
      } catch {
        // A scrape that fails under load is skipped; the next one counts.
      }
      await new Promise((resolve) => setTimeout(resolve, 5_000));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { maxBacklog, maxAgeS, slowestScrapeMs };
    },
  };
}

/**
 * What admission control did under overload, against `bus.admission` as configured: with a limit
 * set and at least twice the capacity offered, REST turns are refused, each with 503 and the
 * configured Retry-After, as many as the hub counted (`hub_admission_busy_total`); no 429 and no
 * other refusal. The web chat customers' checks are `probeChecks`.
 */
function admissionReport(
  turns: TurnRecord[],
  counted: Record<string, number>,
  factor: number,
): { refused: number; withRetryAfter: number; tooMany: number; problems: string[] } {
  const refused = turns.filter((t) => t.status === 503);
  const tooMany = turns.filter((t) => t.status === 429).length;
  const expected = String(admission.retryAfterSeconds);
  const problems: string[] = [];
  const limited = admission.maxQueueAgeMs > 0 || admission.maxBacklog > 0;
  if (limited && factor >= 2 && refused.length === 0)
    problems.push(`no REST turn refused at ${factor}x capacity with a limit set`);
  if (!limited && refused.length > 0) problems.push(`${refused.length} REST turns refused with no limit set`);
  const wrongRetry = refused.filter((t) => t.retryAfter !== expected).length;
  if (wrongRetry) problems.push(`${wrongRetry} refusal(s) without Retry-After: ${expected}`);
  if (tooMany) problems.push(`${tooMany} REST turns answered 429`);
  if ((counted['rest:refused'] ?? 0) !== refused.length)
    problems.push(
      `the hub counted ${counted['rest:refused'] ?? 0} REST refusals, the bench got ${refused.length}`,
    );
  return { refused: refused.length, withRetryAfter: refused.length - wrongRetry, tooMany, problems };
}

async function runOverload(
  emulator: OpenAiEmulator,
  ctx: LoadContext,
  pid: number,
  label: string,
  factor: number,
) {
  // The capacity at this mix of turns: a short closed-loop run first.
  const calibrationS = Math.max(8, warmupS);
  let before = emulator.stats();
  let after = before;
  const calibration = await closedLoop(ctx, conversations, 2000, calibrationS * 1000, (edge) => {
    if (edge === 'start') before = emulator.stats();
    else after = emulator.stats();
  });
  const calibrated = calibration.turns.filter(
    (t) =>
      t.answeredAt !== undefined &&
      t.answeredAt >= calibration.windowStart &&
      t.answeredAt < calibration.windowEnd,
  );
  const use = modelUse(before, after, calibrated.length);
  const rate = factor * use.capacity;
  const rss = sampleRss(pid);
  const backlog = sampleBacklog(ctx.url);
  const countedBefore = await admissionCounts(ctx.url);
  const [result, webchat] = await Promise.all([
    openLoop(
      { ...ctx, prefix: `${ctx.prefix}-over` },
      rate,
      durationS * 1000,
      drainS * 1000,
      Math.max(20, rate),
    ),
    webchatProbe({
      url: ctx.url,
      channel: 'webchat',
      conversations: webchatCustomers,
      durationMs: durationS * 1000,
      pauseMs: 1_000,
      answerTimeoutMs: (durationS + drainS) * 1000,
    }),
  ]);
  rss.stop();
  const queue = await backlog.stop();
  const countedAfter = await admissionCounts(ctx.url);
  const counted = Object.fromEntries(
    Object.entries(countedAfter).map(([key, n]) => [key, n - (countedBefore[key] ?? 0)]),
  );
  emulator.takeServed();
  const acks = result.turns
    .filter((t) => accepted(t) && t.ackAt !== undefined)
    .map((t) => (t.ackAt ?? 0) - t.sentAt)
    .sort((a, b) => a - b);
  const ackP99 = percentile(acks, 0.99);
  const admitted = admissionReport(result.turns, counted, factor);
  const chat = probeChecks(webchat, counted['webchat:queued'] ?? 0);
  const lost = result.unanswered.length;
  const checks = checksLine([...calibration.turns, ...result.turns], ctx.book, lost);
  const acceptedCount = result.turns.filter(accepted).length;
  const answered = result.turns.filter((t) => t.answeredAt !== undefined).length;

  console.log(`\n## ${label}: overload ${factor}x capacity, open loop, ${durationS} s\n`);
  console.log(
    `capacity (closed loop, ${calibrationS} s, ${calibrated.length} turns): ${fmt(use.capacity, 2)} turns/s at ${fmt(use.gpuSPerTurn, 3)} GPU-s per turn; offered ${fmt(rate, 2)} turns/s: ${result.turns.length} turns`,
  );
  console.log(
    `bus.admission: ${JSON.stringify(admissionSettings())} (tenant default; typing after the default 2000 ms)`,
  );
  console.log(
    `accepted ${acceptedCount}, refused 503 ${admitted.refused} (${admitted.withRetryAfter} with Retry-After: ${admission.retryAfterSeconds}), 429 ${admitted.tooMany}, other failures ${result.turns.filter((t) => !accepted(t) && t.status !== 503 && t.status !== 429).length}`,
  );
  console.log(
    `ingress ack (REST 202 after server.replyTimeoutMs = 1 ms): p50 ${fmt(percentile(acks, 0.5), 1)} ms, p99 ${fmt(ackP99, 1)} ms (aim <= ${AIMS.ackP99Ms}: ${mark(ackP99 <= AIMS.ackP99Ms)})`,
  );
  console.log(
    `answered ${answered} of ${acceptedCount} accepted; ${lost} lost (accepted, no answer ${fmt(result.drainS, 0)} s after the offer ended; drain limit ${fmt(drainS, 0)} s)`,
  );
  console.log(
    `queue (hub /metrics, every 5 s): backlog at most ${queue.maxBacklog}, oldest message at most ${fmt(queue.maxAgeS, 1)} s old; slowest scrape ${fmt(queue.slowestScrapeMs, 0)} ms`,
  );
  console.log(
    `web chat beside it: ${webchat.length} customers, ${chat.messages} messages, all accepted; ${counted['webchat:queued'] ?? 0} came in over the limits; ${chat.notified} conversations told once that they wait; typing shown for ${chat.typed} messages; answer p99 ${fmt(chat.answerP99Ms / 1000, 1)} s`,
  );
  const admissionProblems = [...admitted.problems, ...chat.problems];
  console.log(
    `admission control as configured: ${admissionProblems.length === 0 ? 'yes' : `NO: ${admissionProblems.join('; ')}`}`,
  );
  printChecks(label, result.turns, checks);
  console.log(rssLine(rss.samples));
  return {
    label,
    capacity: use.capacity,
    offeredPerS: rate,
    offered: result.turns.length,
    accepted: acceptedCount,
    answered,
    ackP50: percentile(acks, 0.5),
    ackP99,
    admission: { ...admitted, counted, queue, webchat: chat },
    lost,
    drainS: result.drainS,
    checks: { problems: checks.problems.length, duplicates: checks.duplicates, lost },
    rss: rss.samples,
    failed: lost > 0 || checks.duplicates > 0 || checks.problems.length > 0 || admissionProblems.length > 0,
  };
}

/**
 * `--scale-out`: per worker count N, a fresh hub of one API process and N worker processes (same
 * database, key prefix and queue), the closed-loop run against it, and CPU time in its measured
 * window: the hub's processes, the bench's own (load and emulator, one process) and the machine's.
 */
async function runScaleOut(
  counts: number[],
  emulator: OpenAiEmulator,
  light: OpenAiEmulator | undefined,
  start: (
    workers: number,
    label: string,
    poolSize: number | undefined,
  ) => ReturnType<typeof startRealisticHub>,
  where: string,
  results: unknown[],
  pool: LoadContext['pool'],
  admin: pg.Client,
): Promise<boolean> {
  const runs: ScaleOutRun[] = [];
  let failed = false;
  const tier = tiers[0];
  // Every process opens its own PostgreSQL pool (30 connections per worker, 10 for the API by
  // default): sized, as database.poolSize says, so that all of them fit in max_connections.
  const maxConnections = Number((await admin.query('show max_connections')).rows[0]?.max_connections);
  for (const workers of counts) {
    const label = `${workers} worker${workers === 1 ? '' : 's'}${where === 'one Redis' ? '' : `, ${where}`}`;
    const fits = Math.floor((maxConnections - 10) / (workers + 1));
    const poolSize = Number.isFinite(fits) && fits < 30 ? Math.max(2, fits) : undefined;
    if (poolSize)
      console.log(
        `\n${label}: database.poolSize ${poolSize} per process (${workers + 1} processes, PostgreSQL max_connections ${maxConnections}, 10 left to others)`,
      );
    const hub = await start(workers, label, poolSize);
    try {
      const pids = hub.services.map((s) => s.pid);
      const snapshot = () => ({
        hub: pids.reduce((sum, pid) => sum + processCpuS(pid), 0),
        bench: ((usage) => (usage.user + usage.system) / 1e6)(process.cpuUsage()),
        machine: machineCpuS(),
        at: performance.now(),
      });
      let first = snapshot();
      let last = first;
      const ctx: LoadContext = {
        url: hub.service.url,
        timeoutMs,
        prefix: `real-scale${workers}-${Date.now().toString(36)}`,
        pool,
        book: new AnswerBook(),
      };
      const result = await runClosed(
        emulator,
        tier?.endsWith('+light') ? light : undefined,
        ctx,
        hub.service.pid,
        label,
        (edge) => {
          if (edge === 'start') first = snapshot();
          else last = snapshot();
        },
      );
      const machineTotal = last.machine.total - first.machine.total;
      runs.push({
        workers,
        turnsPerS: result.delivered,
        addedP50Ms: result.latency.addedP50,
        addedP99Ms: result.latency.addedP99,
        hubCpuS: last.hub - first.hub,
        benchCpuS: last.bench - first.bench,
        machineBusy: machineTotal > 0 ? (last.machine.busy - first.machine.busy) / machineTotal : Number.NaN,
        windowS: (last.at - first.at) / 1000,
        load1: loadavg()[0] ?? Number.NaN,
        failed: result.failed,
      });
      failed ||= result.failed;
      results.push({ ...result, workers, cpu: runs.at(-1) });
      logLines(hub.services.map((s) => s.output()).join('\n'));
    } finally {
      await hub.stop();
    }
  }
  console.log(
    `\n## Scale-out: one API process + N worker processes, ${where}, emulator uncapped (${cap} sequences), ${conversations} conversations, ${durationS} s each\n`,
  );
  for (const line of scaleOutTable(runs, cpus().length)) console.log(line);
  console.log(
    '\nhub CPU: the API and worker processes together; bench CPU: the load clients and the LLM emulator (one process); rest of machine: Redis, PostgreSQL and anything else running; all in cores (CPU-seconds per second of the measured window).',
  );
  console.log(bottleneckLine(runs, cpus().length));
  return failed;
}

/** The hub's log lines at warn or above, less the start and stop lines: how many, and the commonest messages. */
function logLines(output: string): void {
  const log = output
    .split('\n')
    .filter(
      (line) =>
        line.trim() && !/^(Hub listening on|Hub workers running|Web chat:|SIG\w+: finishing)/.test(line),
    );
  if (!log.length) return;
  const counts = new Map<string, number>();
  for (const line of log) {
    const err = /"err":\{.*?"(?:message|reason)":"((?:[^"\\]|\\.){0,120})/.exec(line)?.[1];
    const msg = `${/"msg":"([^"]{0,160})/.exec(line)?.[1] ?? line.slice(0, 160)}${err ? ` (${err})` : ''}`;
    counts.set(msg, (counts.get(msg) ?? 0) + 1);
  }
  const common = [...counts].sort((a, b) => b[1] - a[1]).slice(0, 3);
  console.log(
    `hub log: ${log.length} line(s) at warn or above; commonest: ${common.map(([msg, n]) => `${n}x "${msg}"`).join('; ')}`,
  );
}

async function main(): Promise<number> {
  const [l1, l5] = loadavg();
  console.log('# Realistic conversations benchmark');
  console.log(
    `machine: ${cpus().length} cores, load average ${fmt(l1 ?? 0, 2)} / ${fmt(l5 ?? 0, 2)} (1 / 5 min) at start`,
  );
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  const work = mkdtempSync(join(tmpdir(), 'hub-bench-real-'));
  const emulator = await startOpenAiEmulator({ gpu, replyFor: classifyReplies(flowShare) });
  const light = tiers.some((t) => t?.endsWith('+light'))
    ? await startOpenAiEmulator({
        gpu: lightGpu,
        model: 'Qwen/Qwen3-0.6B',
        replyFor: classifyReplies(flowShare),
      })
    : undefined;
  if (light)
    console.log(
      `light model emulator (tiers with +light): ${lightGpu.timeToFirstTokenMs} ms to first token, ${lightGpu.tokenMs} ms per token, ${cap} sequences at once`,
    );
  const pool = conversationPool(ROOT);
  console.log(
    `LLM emulator: ${gpu.timeToFirstTokenMs} ms to first token, ${gpu.tokenMs} ms per token, answers of ${gpu.answerTokens} tokens, ${cap} sequences at once (more wait in its queue); the intent tier's classification names a flow's intent for ${Math.round(flowShare * 100)} % of messages`,
  );
  console.log(
    `conversations: ${pool.length} in the pool (${pool.filter((c) => !c.name.startsWith('generated')).length} scripted from test/dialog/conversations, the rest generated from knowledge/eval questions; ${pool.reduce((n, c) => n + c.turns.length, 0)} turns; ${pool.filter((c) => c.language === 'zh').length} Chinese, ${pool.filter((c) => c.language === 'en').length} English, ${pool.filter((c) => c.language === 'mixed').length} mixed)`,
  );
  console.log(
    `hub: ${scaleOut ? `one --role api process + ${scaleOut.join(', then ')} --role worker processes` : hubWorkers ? `one --role api process + ${hubWorkers} --role worker process(es)` : 'child process'}, BullMQ bus (concurrency ${busConcurrency}${scaleOut || hubWorkers ? ' per worker' : ''}), Redis state, PostgreSQL; REST channel; dialog.llmIntentTier ${tiers.map((t) => t ?? 'default').join(' then ')}; NODE_OPTIONS=${hubRuntimeEnv().NODE_OPTIONS}, MALLOC_TRIM_THRESHOLD_=${hubRuntimeEnv().MALLOC_TRIM_THRESHOLD_} (npm start's)`,
  );
  const results: unknown[] = [];
  let failed = false;
  /** The hub of a run: the model tier (`+light`: with the light model), a label, the REST reply wait. */
  const hubOptions = (
    tier: string | undefined,
    label: string,
    replyTimeoutMs: number,
  ): RealisticHubOptions => ({
    root: ROOT,
    work,
    redisUrl: REDIS_URL,
    redis,
    admin,
    llmUrl: emulator.url,
    llmTier: tier?.replace(/\+light$/, ''),
    lightUrl: tier?.endsWith('+light') ? light?.url : undefined,
    busConcurrency,
    replyTimeoutMs,
    llmTimeoutMs: 30_000,
    label,
  });
  try {
    if (scaleOut) {
      const tier = tiers[0];
      const startOn =
        (cluster?: TestCluster) => (workers: number, _label: string, poolSize: number | undefined) =>
          startRealisticHub({
            ...hubOptions(tier, `${workers}w${cluster ? 'cluster' : ''}`, timeoutMs),
            workers,
            poolSize,
            ...(cluster ? { cluster } : {}),
          });
      failed = await runScaleOut(scaleOut, emulator, light, startOn(), 'one Redis', results, pool, admin);
      if (args['redis-cluster']) {
        if (!redisClusterAvailable) console.log(`\n${REDIS_CLUSTER_SKIP_REASON}`);
        else {
          const cluster = await startRedisCluster();
          try {
            const where = 'Redis Cluster (3 masters + 3 replicas)';
            const clusterFailed = await runScaleOut(
              scaleOut,
              emulator,
              light,
              startOn(cluster),
              where,
              results,
              pool,
              admin,
            );
            failed ||= clusterFailed;
          } finally {
            await cluster.stop();
          }
        }
      }
    }
    for (const tier of scaleOut ? [] : tiers) {
      const label = tier ?? 'default';
      const hub = await startRealisticHub({
        ...hubOptions(tier, label, overload ? 1 : timeoutMs),
        ...(overload ? { admission: admissionSettings(), webchat: webchatCustomers > 0 } : {}),
        ...(hubWorkers === undefined ? {} : { workers: hubWorkers }),
      });
      try {
        const ctx: LoadContext = {
          url: hub.service.url,
          timeoutMs,
          prefix: `real-${label}-${Date.now().toString(36)}`,
          pool,
          book: new AnswerBook(),
        };
        const result = overload
          ? await runOverload(emulator, ctx, hub.service.pid, label, overload)
          : await runClosed(
              emulator,
              tier?.endsWith('+light') ? light : undefined,
              ctx,
              hub.service.pid,
              label,
            );
        failed ||= result.failed;
        results.push(result);
        logLines(hub.service.output());
      } finally {
        await hub.stop();
      }
    }
    if (!overload && !scaleOut && results.length > 1) {
      console.log('\n## Tiers side by side (same run, same machine)\n');
      console.log(
        '| dialog.llmIntentTier | turns/s | x capacity | GPU-s/turn | light GPU-s/turn | requests/turn | aborted/turn | turn p50 ms | turn p99 ms | hub-added p50 ms | hub-added p99 ms | LLM-tier turns p50 / p99 ms |',
      );
      console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
      for (const r of results as Array<Awaited<ReturnType<typeof runClosed>>>) {
        const requests = KINDS.reduce((sum, k) => sum + r.use.requestsPerTurn[k], 0);
        console.log(
          `| ${r.label} | ${fmt(r.delivered, 2)} | ${fmt(r.ratio, 3)} | ${fmt(r.use.gpuSPerTurn, 3)} | ${fmt(r.lightGpuSPerTurn, 3)} | ${fmt(requests, 2)} | ${fmt(r.use.abortedPerTurn, 2)} | ${fmt(r.latency.e2eP50, 0)} | ${fmt(r.latency.e2eP99, 0)} | ${fmt(r.latency.addedP50, 0)} | ${fmt(r.latency.addedP99, 0)} | ${fmt(r.latency.tieredP50, 0)} / ${fmt(r.latency.tieredP99, 0)} (${r.latency.tieredTurns}) |`,
        );
      }
    }
  } finally {
    await emulator.close();
    await light?.close();
    await redis.quit();
    await admin.end();
    rmSync(work, { recursive: true, force: true });
  }
  if (args.json) {
    writeFileSync(
      args.json,
      `${JSON.stringify({ settings: { conversations, durationS, warmupS, gpu, flowShare, busConcurrency, overload, tiers, scaleOut }, results }, null, 2)}\n`,
    );
    console.log(`\nresults written to ${args.json}`);
  }
  if (failed)
    console.log('\nFAILED: wrong, duplicated or lost answers, or admission not as configured (above)');
  return failed ? 1 : 0;
}

const started = Date.now();
let code = 1;
try {
  code = await main();
} catch (error) {
  console.error(`bench:realistic failed: ${(error as Error).stack ?? String(error)}`);
}
console.log(
  `\nbench finished in ${((Date.now() - started) / 1000).toFixed(1)} s; load average ${loadavg()
    .slice(0, 2)
    .map((l) => l.toFixed(2))
    .join(' / ')} (1 / 5 min) at the end`,
);
process.exit(code);
