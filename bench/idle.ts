/**
 * `npm run bench:idle`: the hub's start time and idle memory, as README "Start-up, its cache and
 * memory" reports them. The embedded hub (`npm start`'s defaults) twice on a fresh data folder: the
 * first start (initdb, chunking, calibration) and the second (from the cache); then the production
 * shape as separate roles, one `--role api` and one `--role worker` process (PostgreSQL, BullMQ on
 * Redis, Redis state, LLM on: bench/realistic-hub.ts). Every process runs with the Node flags and
 * environment of `npm start` and the image (NODE_OPTIONS, MALLOC_TRIM_THRESHOLD_) unless they are
 * set already. Idle RSS is VmRSS from /proc, `--idle-s` seconds after the process said it is up;
 * "ready" is the wall time from spawning to that line (for the production roles: until both are up,
 * the API first), `startMs` and `cpuMs` come from the hub's own `hub started` line (the production
 * processes run at LOG_LEVEL=warn, which leaves it out: "–").
 *
 *   npm run bench:idle [-- --idle-s 20]
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import pg from 'pg';
import { stringify } from 'yaml';
import { numberArg } from './args';
import { hubRuntimeEnv, type Service, startService } from './children';
import { rssMiB, startRealisticHub } from './realistic-hub';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const PG_ADMIN_URL = process.env.BENCH_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const root = join(import.meta.dirname, '..');

const { values } = parseArgs({ options: { 'idle-s': { type: 'string', default: '20' } } });
const idleS = numberArg('bench:idle')('idle-s', values['idle-s'], 1, 600);

// What `npm start` and the Dockerfile give the hub.
Object.assign(process.env, hubRuntimeEnv());

interface Figures {
  label: string;
  readyS: number;
  startMs?: number;
  cpuMs?: number;
  idleRssMiB: number;
}

/** The fields of the hub's `hub started in N s` log line (pino JSON). */
function startedLine(output: string): { startMs?: number; cpuMs?: number } {
  const line = output.split('\n').find((l) => l.includes('hub started in'));
  try {
    return line ? (JSON.parse(line) as { startMs?: number; cpuMs?: number }) : {};
  } catch {
    return {};
  }
}

async function idleFigures(
  label: string,
  service: Service,
  spawnedAt: number,
  readyAt: number,
): Promise<Figures> {
  await new Promise((resolve) => setTimeout(resolve, idleS * 1000));
  const { startMs, cpuMs } = startedLine(service.output());
  return {
    label,
    readyS: (readyAt - spawnedAt) / 1000,
    ...(startMs === undefined ? {} : { startMs }),
    ...(cpuMs === undefined ? {} : { cpuMs }),
    idleRssMiB: rssMiB(service.pid),
  };
}

async function embedded(work: string, label: string): Promise<Figures> {
  // The defaults of config/hub.yaml, with the database and the cache in a folder of their own.
  const configFile = join(work, 'embedded.yaml');
  writeFileSync(
    configFile,
    stringify({
      server: { host: '127.0.0.1', port: 0 },
      database: { driver: 'pglite', dataDir: join(work, 'db') },
      cache: { dir: join(work, 'cache') },
    }),
  );
  const spawnedAt = performance.now();
  const service = await startService(label, {
    args: [join(root, 'bin', 'hub.mjs'), 'start', '--config', configFile],
    cwd: root,
    env: { ...process.env, PORT: '0' },
    ready: /Hub listening on (\S+)/,
    startTimeoutMs: 180_000,
    stopTimeoutMs: 20_000,
  });
  try {
    return await idleFigures(label, service, spawnedAt, performance.now());
  } finally {
    await service.stop();
  }
}

async function production(work: string): Promise<Figures[]> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  try {
    const spawnedAt = performance.now();
    const hub = await startRealisticHub({
      root,
      work,
      redisUrl: REDIS_URL,
      redis,
      admin,
      // Never called while idle; the LLM is on, as in production.
      llmUrl: 'http://127.0.0.1:9/v1',
      busConcurrency: 200,
      replyTimeoutMs: 20_000,
      llmTimeoutMs: 30_000,
      label: 'idle',
      workers: 1,
    });
    const readyAt = performance.now();
    try {
      const [api, worker] = hub.services as [Service, Service];
      return await Promise.all([
        idleFigures('production, --role api', api, spawnedAt, readyAt),
        idleFigures('production, --role worker', worker, spawnedAt, readyAt),
      ]);
    } finally {
      await hub.stop();
    }
  } finally {
    await admin.end();
    redis.disconnect();
  }
}

const work = mkdtempSync(join(tmpdir(), 'hub-idle-'));
try {
  const results = [
    await embedded(work, 'embedded, first start'),
    await embedded(work, 'embedded, second start'),
    ...(await production(work)),
  ];
  console.log(
    `NODE_OPTIONS=${process.env.NODE_OPTIONS} MALLOC_TRIM_THRESHOLD_=${process.env.MALLOC_TRIM_THRESHOLD_}`,
  );
  console.log(`| process | ready (wall) | hub started (startMs) | CPU | idle RSS after ${idleS} s |`);
  console.log('|---|---|---|---|---|');
  for (const r of results) {
    const ms = (v: number | undefined) => (v === undefined ? '–' : `${(v / 1000).toFixed(1)} s`);
    console.log(
      `| ${r.label} | ${r.readyS.toFixed(1)} s | ${ms(r.startMs)} | ${ms(r.cpuMs)} | ${r.idleRssMiB.toFixed(0)} MiB |`,
    );
  }
  console.log(
    `load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
} finally {
  rmSync(work, { recursive: true, force: true });
}
