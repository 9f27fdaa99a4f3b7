/**
 * The hub of `npm run bench:realistic` in production shape, as `npm run bench` starts it: a child
 * process with the BullMQ bus, Redis state and PostgreSQL (a fresh database, queue and key prefix
 * per start, all removed by `stop`), against the given LLM emulator.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import { stringify } from 'yaml';
import { hubRuntimeEnv, type Service, startService } from './children';

export interface RealisticHubOptions {
  root: string;
  work: string;
  redisUrl: string;
  redis: Redis;
  admin: pg.Client;
  llmUrl: string;
  /** A light model's endpoint: classification and rewrites go there (llm.models, role light). */
  lightUrl?: string;
  /** `dialog.llmIntentTier`; undefined keeps the default. */
  llmTier?: string;
  busConcurrency: number;
  replyTimeoutMs: number;
  llmTimeoutMs: number;
  label: string;
  /**
   * Production shape with separate roles: one `--role api` process plus this many `--role worker`
   * processes on the same config (database, Redis key prefix, queue). Undefined: one `all` process.
   */
  workers?: number;
  /** A Redis Cluster (`redis.cluster.nodes`) instead of the one server of redisUrl, and how to clear its keys. */
  cluster?: { nodes: string[]; deleteKeys(fragment: string): Promise<void> };
  /** `database.poolSize` of every process; undefined keeps the hub's default. */
  poolSize?: number;
  /** `bus.admission` (per-tenant limits); undefined keeps the hub's default (no limits). */
  admission?: Record<string, unknown>;
  /** A web chat channel `webchat` beside the REST channel. */
  webchat?: boolean;
}

export interface RealisticHub {
  /** The process that serves HTTP (the `all` one, or the API process). */
  service: Service;
  /** Every process of the hub: the API process first, then the workers. */
  services: Service[];
  config: Record<string, unknown>;
  /** Stop the child, drop its database, delete its Redis keys. */
  stop(): Promise<void>;
}

async function deleteKeys(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) await redis.unlink(...keys);
  } while (cursor !== '0');
}

export async function startRealisticHub(options: RealisticHubOptions): Promise<RealisticHub> {
  const id = `${randomBytes(3).toString('hex')}_${options.label.replace(/\W/g, '')}`;
  const database = `hub_bench_real_${id}`;
  const keyPrefix = `hub-bench-real-${id}`;
  await options.admin.query(`create database ${database}`);
  const config = {
    server: { host: '127.0.0.1', port: 0, replyTimeoutMs: options.replyTimeoutMs },
    redis: {
      url: options.redisUrl,
      keyPrefix,
      ...(options.cluster ? { cluster: { nodes: options.cluster.nodes } } : {}),
    },
    bus: {
      driver: 'bullmq',
      queue: `bench-real-${id}`,
      concurrency: options.busConcurrency,
      ...(options.admission ? { admission: options.admission } : {}),
    },
    state: { driver: 'redis' },
    database: {
      driver: 'postgres',
      url: `postgres://postgres@127.0.0.1:5432/${database}`,
      ...(options.poolSize ? { poolSize: options.poolSize } : {}),
    },
    llm: {
      enabled: true,
      baseUrl: options.llmUrl,
      timeoutMs: options.llmTimeoutMs,
      ...(options.lightUrl
        ? {
            models: [
              { name: 'main', role: 'main', model: 'Qwen/Qwen3-14B', baseUrl: options.llmUrl },
              { name: 'light', role: 'light', model: 'Qwen/Qwen3-0.6B', baseUrl: options.lightUrl },
            ],
          }
        : {}),
    },
    ...(options.llmTier ? { dialog: { llmIntentTier: options.llmTier } } : {}),
    // Load is measured here, not abuse: a bench conversation asks far faster than a person.
    security: { rateLimits: { enabled: false } },
    channels: [
      { id: 'rest', type: 'rest', auth: 'none' },
      ...(options.webchat ? [{ id: 'webchat', type: 'webchat' }] : []),
    ],
  };
  const configFile = join(options.work, `hub-${id}.yaml`);
  writeFileSync(configFile, stringify(config));
  const dropAll = async () => {
    await options.admin.query(`drop database if exists ${database} with (force)`);
    if (options.cluster) await options.cluster.deleteKeys(keyPrefix);
    else await deleteKeys(options.redis, keyPrefix);
  };
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...hubRuntimeEnv(),
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    PORT: '0',
  };
  // No worker HTTP server: N workers would want the same port.
  delete env.HUB_WORKER_PORT;
  const start = (name: string, role: string | undefined, ready: RegExp) =>
    startService(name, {
      args: [
        join(options.root, 'bin', 'hub.mjs'),
        'start',
        '--config',
        configFile,
        ...(role ? ['--role', role] : []),
      ],
      cwd: options.root,
      env,
      ready,
      startTimeoutMs: 90_000,
      stopTimeoutMs: 20_000,
    });
  const services: Service[] = [];
  const stopAll = async () => {
    // The API first (no new turns), then the workers finish theirs.
    await services[0]?.stop();
    await Promise.all(services.slice(1).map((s) => s.stop()));
  };
  try {
    if (options.workers === undefined) {
      services.push(await start(`hub (${options.label})`, undefined, /Hub listening on (\S+)/));
    } else {
      // The API process first: it migrates the fresh database before the workers open it.
      services.push(await start(`hub api (${options.label})`, 'api', /Hub listening on (\S+)/));
      const workers = await Promise.allSettled(
        Array.from({ length: options.workers }, (_, i) =>
          start(`hub worker ${i + 1} (${options.label})`, 'worker', /(Hub workers running)/),
        ),
      );
      for (const w of workers) if (w.status === 'fulfilled') services.push(w.value);
      const failed = workers.find((w) => w.status === 'rejected');
      if (failed) throw failed.reason;
    }
  } catch (error) {
    await stopAll();
    await dropAll();
    throw error;
  }
  const service = services[0] as Service;
  return {
    service,
    services,
    config,
    async stop() {
      await stopAll();
      await dropAll();
    },
  };
}

/** Resident set size of a process in MiB (Linux /proc); NaN when it cannot be read. */
export function rssMiB(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
    return kb / 1024;
  } catch {
    return Number.NaN;
  }
}
