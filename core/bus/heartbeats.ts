import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { HubConfig } from '../config/schema';
import { logger } from '../log';
import { LuaScript } from '../state/lua';
import type { RedisClient } from '../state/redis-client';
import { connectConfiguredRedis } from '../state/redis-connect';

/**
 * Who is consuming the bus: each worker process beats every few seconds, and any process (the
 * api's /metrics) counts the beats still fresh. A worker that dies simply stops beating.
 */
export interface WorkerHeartbeats {
  /** Worker `id` is alive for the next `ttlMs`. */
  beat(id: string, ttlMs: number): Promise<void>;
  /** Worker `id` stopped cleanly: stop counting it now rather than when its beat expires. */
  forget(id: string): Promise<void>;
  /** Workers whose last beat has not expired. */
  alive(): Promise<number>;
  close(): Promise<void>;
}

/** One process: the embedded hub, where the api and its workers share memory. */
export class MemoryHeartbeats implements WorkerHeartbeats {
  private readonly expiresAt = new Map<string, number>();

  async beat(id: string, ttlMs: number): Promise<void> {
    this.expiresAt.set(id, Date.now() + ttlMs);
  }

  async forget(id: string): Promise<void> {
    this.expiresAt.delete(id);
  }

  async alive(): Promise<number> {
    const now = Date.now();
    for (const [id, expiresAt] of this.expiresAt) if (expiresAt <= now) this.expiresAt.delete(id);
    return this.expiresAt.size;
  }

  async close(): Promise<void> {}
}

/** Redis's clock, so beats from hosts whose clocks differ are judged alike. */
const NOW_MS = `local clock = redis.call('TIME')
local nowMs = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)`;

/**
 * A sorted set of worker ids scored by when their beat expires; expired ones are pruned by every
 * beat, and the key itself expires when no worker beats any more.
 * KEYS: workers. ARGV: worker id, ttl ms.
 */
const BEAT = new LuaScript(`
${NOW_MS}
redis.call('ZADD', KEYS[1], nowMs + tonumber(ARGV[2]), ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', nowMs)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`);

/** KEYS: workers. Returns the ids whose beat has not expired. */
const ALIVE = new LuaScript(`
${NOW_MS}
return redis.call('ZCOUNT', KEYS[1], '(' .. nowMs, '+inf')
`);

/** Every process of a hub on Redis (api and workers alike) sees the same set: `<keyPrefix>:workers`. */
export class RedisHeartbeats implements WorkerHeartbeats {
  constructor(
    private readonly redis: RedisClient,
    private readonly key: string,
    private readonly ownsConnection = false,
  ) {}

  async beat(id: string, ttlMs: number): Promise<void> {
    await BEAT.run(this.redis, [this.key], [id, Math.round(ttlMs)]);
  }

  async forget(id: string): Promise<void> {
    await this.redis.zrem(this.key, id);
  }

  async alive(): Promise<number> {
    return Number(await ALIVE.run(this.redis, [this.key], []));
  }

  async close(): Promise<void> {
    if (this.ownsConnection) await this.redis.quit();
  }
}

/** Redis when the bus or the state is on Redis (workers may be other processes), memory otherwise. */
export async function createWorkerHeartbeats(
  config: HubConfig,
  deps: { keyPrefix?: string } = {},
): Promise<WorkerHeartbeats> {
  if (config.bus.driver !== 'bullmq' && config.state.driver !== 'redis') return new MemoryHeartbeats();
  const redis = await connectConfiguredRedis(config.redis, 'worker heartbeats');
  return new RedisHeartbeats(redis, `${deps.keyPrefix ?? 'hub'}:workers`, true);
}

export interface Heartbeat {
  readonly id: string;
  stop(): Promise<void>;
}

/**
 * Beat now and every `intervalMs`, each beat fresh for three intervals: one lost beat (a GC pause,
 * a Redis hiccup) does not count the worker dead, a dead worker drops out within `3 × intervalMs`.
 */
export async function startHeartbeat(heartbeats: WorkerHeartbeats, intervalMs: number): Promise<Heartbeat> {
  const id = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  const ttlMs = 3 * intervalMs;
  const beat = async () => {
    try {
      await heartbeats.beat(id, ttlMs);
    } catch (error) {
      logger.warn({ err: error, worker: id }, 'worker heartbeat not written; retrying at the next beat');
    }
  };
  await beat();
  const timer = setInterval(() => void beat(), intervalMs);
  timer.unref();
  return {
    id,
    async stop() {
      clearInterval(timer);
      await heartbeats.forget(id).catch(() => {});
    },
  };
}
