/**
 * `npm run bench`: messages/s and added latency of the hub's full path (REST → BullMQ bus on Redis →
 * dialog with retrieval and an OpenAI-compatible LLM → PostgreSQL transcript → reply), in production
 * shape, against a bare node:http baseline doing the same Redis round trip, measured in the same run.
 * Prints the ratios and whether the aims are met; exits 1 only when an answer was wrong or failed.
 *
 * Options: --clients 1,8,32  --warmup 1 (s, per slice)  --duration 6 (s measured, per target and client count)
 *          --rounds 2 (slices per target, alternating)  --timeout 10000 (ms per request)
 *          --baseline-llm on|off  --json FILE
 *          --cpu-prof (profile the hub child, print its hot spots)  --cpu-prof-dir DIR (same, and keep the profile)
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import pg from 'pg';
import { stringify } from 'yaml';
import { startOpenAiEmulator } from '../test/emulators/openai-emulator';
import { numberArg } from './args';
import { hubRuntimeEnv, type Service, startService } from './children';
import { summarizeProfile } from './cpu-profile';
import { BENCH_MESSAGES, checkRestReply, percentile, runLoad } from './load';
import { LlmLog, measureSlice, mergeSlices, type Slice } from './phase';
import {
  AIM_ADDED_P99_MS,
  AIM_THROUGHPUT_RATIO,
  type Comparison,
  compare,
  comparisonTable,
  cpuTable,
  type PhaseResult,
  profileReport,
  redisRoundTripsLine,
  redisTable,
  resultsTable,
  stageTable,
  statementsLine,
  type Target,
} from './report';
import { createProbe } from './resources';

const ROOT = join(import.meta.dirname, '..');
/** Load on each target before anything is measured: JIT, pools, caches. */
const GLOBAL_WARMUP_S = 3;
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const PG_ADMIN_URL = process.env.BENCH_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** Questions customers ask, in both languages the knowledge base answers. */

const { values: args } = parseArgs({
  options: {
    clients: { type: 'string', default: '1,8,32' },
    warmup: { type: 'string', default: '1' },
    duration: { type: 'string', default: '6' },
    rounds: { type: 'string', default: '2' },
    timeout: { type: 'string', default: '10000' },
    'baseline-llm': { type: 'string', default: 'on' },
    'cpu-prof': { type: 'boolean', default: false },
    'cpu-prof-dir': { type: 'string' },
    json: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});

if (args.help) {
  console.log(
    'npm run bench -- [--clients 1,8,32] [--warmup 1] [--duration 6] [--rounds 2] [--timeout 10000] [--baseline-llm on|off] [--cpu-prof] [--cpu-prof-dir DIR] [--json FILE]',
  );
  process.exit(0);
}

const bounded = numberArg('bench');
const clientCounts = (args.clients ?? '').split(',').map((c) => bounded('clients', c.trim(), 1, 256));
const warmupS = bounded('warmup', args.warmup, 0, 30);
const durationS = bounded('duration', args.duration, 1, 60);
const rounds = Math.round(bounded('rounds', args.rounds, 1, 10));
const timeoutMs = bounded('timeout', args.timeout, 100, 60_000);
const baselineLlm = args['baseline-llm'] !== 'off';

const runId = randomBytes(4).toString('hex');
const database = `hub_bench_${runId}`;
const queue = `bench-${runId}`;
/** Every key the hub writes starts with it (redis.keyPrefix), so the run cleans up after itself exactly. */
const keyPrefix = `hub-bench-${runId}`;
const baselineKey = `bench:${runId}:baseline`;
const work = mkdtempSync(join(tmpdir(), 'hub-bench-'));
const profileDir = args['cpu-prof-dir'] ?? join(work, 'cpu-prof');
const profiling = Boolean(args['cpu-prof'] || args['cpu-prof-dir']);

const cleanups: Array<() => Promise<unknown>> = [];
let cleaned = false;
async function cleanup(): Promise<void> {
  if (cleaned) return;
  cleaned = true;
  for (const step of cleanups.reverse()) {
    try {
      await step();
    } catch (error) {
      console.error(`bench: cleanup step failed: ${(error as Error).message}`);
    }
  }
}
process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));

/** Every Redis key this run made: the hub's (its key prefix) and the baseline's list. */
async function deleteRunKeys(redis: Redis): Promise<number> {
  const patterns = [`${keyPrefix}:*`, `${baselineKey}*`];
  let deleted = 0;
  for (const match of patterns) {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', match, 'COUNT', 1000);
      cursor = next;
      if (keys.length) deleted += await redis.unlink(...keys);
    } while (cursor !== '0');
  }
  return deleted;
}

async function main(): Promise<number> {
  const cores = cpus();
  const [l1, l5] = loadavg();
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  cleanups.push(async () => redis.quit());
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  cleanups.push(async () => admin.end());
  const redisVersion = /redis_version:(\S+)/.exec(await redis.info('server'))?.[1];
  const pgVersion = (await admin.query<{ server_version: string }>('show server_version')).rows[0]
    ?.server_version;

  await admin.query(`create database ${database}`);
  cleanups.push(async () => admin.query(`drop database if exists ${database} with (force)`));
  cleanups.push(async () => deleteRunKeys(redis));
  cleanups.push(async () => rmSync(work, { recursive: true, force: true }));

  // The LLM: zero latency, in this process. Its request log is counted and emptied as it goes.
  const llm = await startOpenAiEmulator({ latencyMs: 0 });
  cleanups.push(async () => llm.close());
  const llmLog = new LlmLog(llm);
  cleanups.push(async () => llmLog.stop());

  const hubConfig = {
    server: { host: '127.0.0.1', port: 0, replyTimeoutMs: timeoutMs },
    redis: { url: REDIS_URL, keyPrefix },
    bus: { driver: 'bullmq', queue },
    state: { driver: 'redis' },
    database: { driver: 'postgres', url: `postgres://postgres@127.0.0.1:5432/${database}` },
    llm: { enabled: true, baseUrl: llm.url },
    // Throughput is measured here, not abuse: one client asks far faster than any person would.
    security: { rateLimits: { enabled: false } },
    channels: [
      // The load generator runs on this machine: no API key (a key check would be one more query per message).
      { id: 'rest', type: 'rest', auth: 'none' },
      { id: 'webchat', type: 'webchat' },
    ],
  };
  const configFile = join(work, 'hub.yaml');
  writeFileSync(configFile, stringify(hubConfig));

  console.log('# Hub benchmark');
  console.log(
    `machine: ${cores.length} cores (${cores[0]?.model.trim() ?? 'unknown CPU'}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB, load average ${l1?.toFixed(2)} / ${l5?.toFixed(2)} (1 / 5 min) at start`,
  );
  console.log(`node ${process.version}, redis ${redisVersion}, postgresql ${pgVersion}`);
  console.log(
    `load: closed loop, ${clientCounts.join(' / ')} clients (one sender each, keep-alive, ${timeoutMs} ms timeout); first ${GLOBAL_WARMUP_S} s of warm-up per target, then per client count ${durationS} s measured per target in ${rounds} slices alternating baseline and hub, each after ${warmupS} s of warm-up`,
  );
  console.log(
    `hub config (child process, LOG_LEVEL=warn, NODE_ENV=production, NODE_OPTIONS=${hubRuntimeEnv().NODE_OPTIONS}, MALLOC_TRIM_THRESHOLD_=${hubRuntimeEnv().MALLOC_TRIM_THRESHOLD_}): ${JSON.stringify(hubConfig)}`,
  );
  console.log(
    `baseline (child process): node:http, JSON parse, LPUSH on one ioredis connection + BRPOP on another${baselineLlm ? ', then one chat completion from the same LLM emulator' : ' (no LLM call)'}, JSON array reply`,
  );
  console.log('');

  let baseline: Service | undefined;
  let hub: Service | undefined;
  baseline = await startService('baseline', {
    args: ['--import', 'tsx', join(ROOT, 'bench', 'baseline-server.ts')],
    cwd: ROOT,
    env: {
      ...process.env,
      PORT: '0',
      REDIS_URL,
      BENCH_BASELINE_KEY: baselineKey,
      BENCH_LLM_URL: baselineLlm ? llm.url : '',
    },
    ready: /Baseline listening on (\S+)/,
    startTimeoutMs: 30_000,
  });
  cleanups.push(async () => baseline?.stop());
  const hubStarted = process.hrtime.bigint();
  if (profiling) mkdirSync(profileDir, { recursive: true });
  hub = await startService('hub', {
    args: [
      ...(profiling ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []),
      join(ROOT, 'bin', 'hub.mjs'),
      'start',
      '--config',
      configFile,
    ],
    cwd: ROOT,
    env: { ...process.env, ...hubRuntimeEnv(), NODE_ENV: 'production', LOG_LEVEL: 'warn', PORT: '0' },
    ready: /Hub listening on (\S+)/,
    startTimeoutMs: 60_000,
    stopTimeoutMs: 20_000,
  });
  cleanups.push(async () => hub?.stop());
  console.log(
    `hub started in ${(Number(process.hrtime.bigint() - hubStarted) / 1e9).toFixed(1)} s at ${hub.url}; baseline at ${baseline.url}`,
  );

  const probe = createProbe({
    redis,
    pg: admin,
    database,
    pids: () => ({ hub: hub?.pid ?? -1, baseline: baseline?.pid ?? -1 }),
  });
  const results: PhaseResult[] = [];
  const hubWindows: Array<[bigint, bigint]> = [];
  const targets: Array<{ target: Target; url: string; hubUrl?: string }> = [
    { target: 'baseline', url: baseline.url },
    { target: 'hub', url: hub.url, hubUrl: hub.url },
  ];
  const load = (url: string, clients: number, senderPrefix: string, warmup: number, duration: number) => ({
    url,
    concurrency: clients,
    warmupMs: warmup * 1000,
    durationMs: duration * 1000,
    timeoutMs,
    senderPrefix,
    messages: BENCH_MESSAGES,
    check: checkRestReply('llm'),
  });

  // JIT, connection pools and caches of both targets warm up once before anything is measured.
  let warmupErrors = 0;
  let hubWarmupSent = 0;
  for (const { target, url } of targets) {
    const warm = await runLoad(load(url, 8, `bench-${runId}-${target}-warm`, 0, GLOBAL_WARMUP_S));
    warmupErrors += warm.errors;
    if (target === 'hub') hubWarmupSent = warm.sent;
    for (const sample of warm.errorSamples) console.log(`    warm-up error (${target}): ${sample}`);
  }

  // Slices of the two targets alternate, so a change in the machine's background load hits both.
  for (const clients of clientCounts) {
    const slices: Slice[] = [];
    for (let round = 1; round <= rounds; round++) {
      for (const { target, url, hubUrl } of targets) {
        const prefix = `bench-${runId}-${target}-c${clients}-r${round}`;
        const slice = await measureSlice(target, load(url, clients, prefix, warmupS, durationS / rounds), {
          probe,
          llmLog,
          hubUrl,
        });
        slices.push(slice);
        if (target === 'hub') hubWindows.push(slice.window);
        const l = slice.load;
        console.log(
          `  ${target.padEnd(8)} ${String(clients).padStart(3)} clients, round ${round}/${rounds}: ${(l.measured / l.windowS).toFixed(1)} msgs/s, p50 ${percentile(l.latenciesMs, 0.5).toFixed(2)} ms, p99 ${percentile(l.latenciesMs, 0.99).toFixed(2)} ms, ${l.errors} errors`,
        );
        for (const sample of l.errorSamples) console.log(`    error: ${sample}`);
      }
    }
    for (const target of ['baseline', 'hub'] as const) {
      results.push(mergeSlices(slices.filter((s) => s.target === target)));
    }
  }

  // Stopping the hub closes its pool; exiting backends flush their statistics.
  const hubPid = hub.pid;
  await hub.stop();
  const hubOutput = hub.output();
  hub = undefined;
  await baseline.stop();
  baseline = undefined;
  await new Promise((resolve) => setTimeout(resolve, 300));
  const transactions = Number(
    (
      await admin.query<{ xact_commit: string }>(
        'select xact_commit from pg_stat_database where datname = $1',
        [database],
      )
    ).rows[0]?.xact_commit ?? 0,
  );
  const hubSent =
    hubWarmupSent + results.filter((r) => r.target === 'hub').reduce((sum, r) => sum + r.sent, 0);

  const comparisons: Comparison[] = clientCounts.map((clients) => {
    const pick = (target: Target) => results.find((r) => r.target === target && r.concurrency === clients);
    const b = pick('baseline');
    const h = pick('hub');
    if (!b || !h) throw new Error(`missing results for ${clients} clients`);
    return compare(b, h);
  });
  const peak = (target: Target) =>
    Math.max(...results.filter((r) => r.target === target).map((r) => r.messagesPerS));
  const peakRatio = peak('hub') / peak('baseline');
  const errors = warmupErrors + results.reduce((sum, r) => sum + r.errors, 0);
  // Every answer is generated by the model; intent classification (tier c) and follow-up rewriting
  // may ask it more, so a hub answer costs one model call or more, never fewer.
  const wrongLlmCalls = results.filter((r) => r.target === 'hub' && r.llmCalls < r.sent - r.errors);

  console.log('\n## Results (measured window; latency is client-side, request sent → full reply read)\n');
  console.log(resultsTable(results));
  console.log('\n## Hub against the baseline\n');
  console.log(comparisonTable(comparisons));
  console.log(
    `\npeak throughput: hub ${peak('hub').toFixed(1)} msgs/s, baseline ${peak('baseline').toFixed(1)} msgs/s: ${peakRatio.toFixed(3)}x (aim >= ${AIM_THROUGHPUT_RATIO}x: ${peakRatio >= AIM_THROUGHPUT_RATIO ? 'met' : 'NOT met'})`,
  );
  const oneClient = comparisons.find((c) => c.latencyMet !== undefined);
  console.log(
    `added p99 latency at one client <= ${AIM_ADDED_P99_MS} ms: ${
      oneClient === undefined
        ? 'not measured (no run at 1 client)'
        : `${oneClient.latencyMet ? 'met' : 'NOT met'} (${oneClient.addedP99Ms.toFixed(1)} ms)`
    }`,
  );
  const llmBytes = (target: Target) => {
    const rs = results.filter((r) => r.target === target && r.llmRequestBytes > 0);
    return rs.reduce((sum, r) => sum + r.llmRequestBytes, 0) / Math.max(1, rs.length);
  };
  console.log(
    `LLM request body: hub ${llmBytes('hub').toFixed(0)} bytes, baseline ${llmBytes('baseline').toFixed(0)} bytes on average (sampled)`,
  );

  console.log('\n## Hub stages (its /metrics histograms over the measured window; ~ = bucket estimate)\n');
  console.log(stageTable(results));
  console.log(
    '\n## CPU ms per message, by process (measured window; Redis counts every client of the server)\n',
  );
  console.log(cpuTable(results));
  console.log(
    '\n## Redis commands per message (measured window; every client of the server; commands run by scripts included)\n',
  );
  console.log(redisTable(results));
  console.log(redisRoundTripsLine(results));
  const statements = statementsLine(results);
  if (statements) console.log(`\n${statements}`);
  console.log(
    `${statements ? '' : '\n'}PostgreSQL: ${transactions} committed transactions in ${database} for ${hubSent} hub messages: ${(transactions / Math.max(1, hubSent)).toFixed(2)} per message (warm-up and start-up migrations included)`,
  );

  const hubLogLines = hubOutput
    .split('\n')
    .filter((line) => line.trim() && !/^(Hub listening on|Web chat:|SIG\w+: finishing)/.test(line));
  console.log(
    `hub log: ${hubLogLines.length} line(s) at warn or above${hubLogLines.length ? `, e.g. ${hubLogLines[0]?.slice(0, 300)}` : ''}`,
  );

  let profile: ReturnType<typeof summarizeProfile> | undefined;
  if (profiling) {
    // CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile: the hub's main thread is thread 0.
    const file = readdirSync(profileDir)
      .filter((name) => name.includes(`.${hubPid}.0.`) && name.endsWith('.cpuprofile'))
      .at(-1);
    if (file) {
      profile = summarizeProfile(join(profileDir, file), ROOT, hubWindows);
      console.log('\n## Hub CPU profile (--cpu-prof, main thread)\n');
      console.log(profileReport(profile));
    } else {
      console.log('\n(no .cpuprofile written by the hub)');
    }
  }

  if (errors > 0 || wrongLlmCalls.length > 0) {
    console.log(`\nFAILED: ${errors} failed or incorrect answers`);
    for (const r of wrongLlmCalls) {
      console.log(
        `  hub with ${r.concurrency} clients: ${r.llmCalls} LLM calls for ${r.sent - r.errors} answers`,
      );
    }
    if (/error|warn/i.test(hubOutput)) console.log(`hub output (tail):\n${hubOutput.slice(-4000)}`);
  }

  if (args.json) {
    const json = {
      runId,
      machine: {
        cores: cores.length,
        cpu: cores[0]?.model.trim(),
        loadavgAtStart: [l1, l5],
        node: process.version,
        redisVersion,
        pgVersion,
      },
      settings: { clients: clientCounts, warmupS, durationS, timeoutMs, baselineLlm },
      hubConfig,
      results,
      comparisons,
      peak: { hub: peak('hub'), baseline: peak('baseline'), ratio: peakRatio },
      aims: { throughputRatio: AIM_THROUGHPUT_RATIO, addedP99Ms: AIM_ADDED_P99_MS },
      postgres: { transactions, hubMessages: hubSent },
      profile,
    };
    writeFileSync(args.json, `${JSON.stringify(json, null, 2)}\n`);
    console.log(`\nresults written to ${args.json}`);
  }
  return errors > 0 || wrongLlmCalls.length > 0 ? 1 : 0;
}

const started = Date.now();
let code = 1;
try {
  code = await main();
} catch (error) {
  console.error(`bench failed: ${(error as Error).stack ?? String(error)}`);
} finally {
  await cleanup();
}
console.log(
  `\nbench finished in ${((Date.now() - started) / 1000).toFixed(1)} s; load average ${loadavg()
    .slice(0, 2)
    .map((l) => l.toFixed(2))
    .join(' / ')} (1 / 5 min) at the end`,
);
process.exit(code);
