import { type HubConfig, llmRollbackSchema } from '../config/schema';
import { hashTag, isCluster, type RedisClient } from '../state/redis-client';
import { connectConfiguredRedis } from '../state/redis-connect';
import { HubError } from '../types/errors';

/** What one model version did within the rollback window. */
export interface WindowCounts {
  requests: number;
  /** Requests that failed on this version (any error but the caller's own abort). */
  errors: number;
  /** Failed requests the router then sent to the next endpoint. */
  fallbacks: number;
}

export interface RollbackRecord {
  /** The canary version that was rolled back. */
  version: string;
  at: string;
  reason: 'error_rate' | 'fallback_rate';
  /** The window that tripped it. */
  window: WindowCounts;
}

/**
 * The canary's shared memory: per-version request windows and the rollback flag. In the process
 * for an embedded hub; in Redis when the hub runs on Redis, so every api and worker process
 * counts into one window, sees one rollback, and the rollback survives a restart.
 */
export interface CanaryStore {
  /** Count one request of `version` and return the window including it. */
  record(
    model: string,
    version: string,
    outcome: { error: boolean; fallback: boolean },
  ): Promise<WindowCounts>;
  counts(model: string, version: string): Promise<WindowCounts>;
  /** Mark `model`'s canary rolled back; false when it already was (the first record stays). */
  rollBack(model: string, record: RollbackRecord): Promise<boolean>;
  rollbackOf(model: string): Promise<RollbackRecord | undefined>;
  /** Lift the rollback and forget the windows of `versions`, so old failures do not trip it again. */
  reset(model: string, versions: string[]): Promise<boolean>;
  close(): Promise<void>;
}

/** The window is counted in this many buckets: it slides one bucket (a tenth of it) at a time. */
const BUCKETS = 10;

const emptyCounts = (): WindowCounts => ({ requests: 0, errors: 0, fallbacks: 0 });

function add(sum: WindowCounts, part: Partial<Record<keyof WindowCounts, string | number>>): WindowCounts {
  sum.requests += Number(part.requests ?? 0);
  sum.errors += Number(part.errors ?? 0);
  sum.fallbacks += Number(part.fallbacks ?? 0);
  return sum;
}

class Buckets {
  readonly bucketMs: number;
  constructor(
    windowMs: number,
    private readonly now: () => number,
  ) {
    this.bucketMs = Math.max(1, Math.ceil(windowMs / BUCKETS));
  }
  current(): number {
    return Math.floor(this.now() / this.bucketMs);
  }
  /** The buckets the window covers now, oldest first. */
  window(): number[] {
    const current = this.current();
    return Array.from({ length: BUCKETS }, (_, i) => current - BUCKETS + 1 + i);
  }
}

export class MemoryCanaryStore implements CanaryStore {
  private readonly buckets: Buckets;
  private readonly windows = new Map<string, Map<number, WindowCounts>>();
  private readonly rollbacks = new Map<string, RollbackRecord>();

  constructor(windowMs: number, now: () => number = Date.now) {
    this.buckets = new Buckets(windowMs, now);
  }

  async record(model: string, version: string, outcome: { error: boolean; fallback: boolean }) {
    const key = `${model}\n${version}`;
    const window = this.windows.get(key) ?? new Map<number, WindowCounts>();
    this.windows.set(key, window);
    const current = this.buckets.current();
    const oldest = current - BUCKETS + 1;
    for (const bucket of window.keys()) if (bucket < oldest) window.delete(bucket);
    const counts = window.get(current) ?? emptyCounts();
    window.set(current, add(counts, { requests: 1, errors: +outcome.error, fallbacks: +outcome.fallback }));
    return this.counts(model, version);
  }

  async counts(model: string, version: string): Promise<WindowCounts> {
    const window = this.windows.get(`${model}\n${version}`);
    const sum = emptyCounts();
    for (const bucket of this.buckets.window()) {
      const counts = window?.get(bucket);
      if (counts) add(sum, counts);
    }
    return sum;
  }

  async rollBack(model: string, record: RollbackRecord): Promise<boolean> {
    if (this.rollbacks.has(model)) return false;
    this.rollbacks.set(model, record);
    return true;
  }

  async rollbackOf(model: string): Promise<RollbackRecord | undefined> {
    return this.rollbacks.get(model);
  }

  async reset(model: string, versions: string[]): Promise<boolean> {
    for (const version of versions) this.windows.delete(`${model}\n${version}`);
    return this.rollbacks.delete(model);
  }

  async close(): Promise<void> {}
}

/** Keys under `<prefix>:llm-canary:`; bucket hashes expire once the window has passed them. */
export class RedisCanaryStore implements CanaryStore {
  private readonly buckets: Buckets;

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly windowMs: number,
    private readonly ownsConnection = false,
    now: () => number = Date.now,
  ) {
    this.buckets = new Buckets(windowMs, now);
  }

  async record(model: string, version: string, outcome: { error: boolean; fallback: boolean }) {
    const key = this.bucketKey(model, version, this.buckets.current());
    const batch = this.redis
      .multi()
      .hincrby(key, 'requests', 1)
      .hincrby(key, 'errors', +outcome.error)
      .hincrby(key, 'fallbacks', +outcome.fallback)
      .pexpire(key, this.windowMs + this.buckets.bucketMs);
    for (const bucket of this.buckets.window()) batch.hgetall(this.bucketKey(model, version, bucket));
    const replies = await this.run('record', () => batch.exec());
    return sumReplies((replies ?? []).slice(4));
  }

  async counts(model: string, version: string): Promise<WindowCounts> {
    const batch = this.redis.pipeline();
    for (const bucket of this.buckets.window()) batch.hgetall(this.bucketKey(model, version, bucket));
    return sumReplies((await this.run('counts', () => batch.exec())) ?? []);
  }

  async rollBack(model: string, record: RollbackRecord): Promise<boolean> {
    const written = await this.run('rollBack', () =>
      this.redis.set(this.rollbackKey(model), JSON.stringify(record), 'NX'),
    );
    return written === 'OK';
  }

  async rollbackOf(model: string): Promise<RollbackRecord | undefined> {
    const raw = await this.run('rollbackOf', () => this.redis.get(this.rollbackKey(model)));
    return raw ? (JSON.parse(raw) as RollbackRecord) : undefined;
  }

  async reset(model: string, versions: string[]): Promise<boolean> {
    const windows = versions.flatMap((version) =>
      // One bucket beyond the window: a bucket may outlive it by its expiry margin.
      [this.buckets.current() - BUCKETS, ...this.buckets.window()].map((b) =>
        this.bucketKey(model, version, b),
      ),
    );
    const lifted = await this.run('reset', () => this.redis.del(this.rollbackKey(model)));
    await this.run('reset', () => this.redis.del(...windows));
    return lifted > 0;
  }

  async close(): Promise<void> {
    if (this.ownsConnection) await this.redis.quit();
  }

  private rollbackKey(model: string): string {
    return `${this.prefix}:llm-canary:${this.modelPart(model)}:rollback`;
  }

  private bucketKey(model: string, version: string, bucket: number): string {
    return `${this.prefix}:llm-canary:${this.modelPart(model)}:${encodeURIComponent(version)}:${bucket}`;
  }

  /** In a Redis Cluster a hash tag: one model's keys share a slot, as its MULTI and DEL need. */
  private modelPart(model: string): string {
    const encoded = encodeURIComponent(model);
    return isCluster(this.redis) ? hashTag(encoded) : encoded;
  }

  private async run<T>(operation: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (cause) {
      throw new HubError(
        'llm.canary_state_unavailable',
        `Redis refused canary ${operation}: ${(cause as Error).message}`,
        {
          cause,
          retryable: true,
          status: 503,
        },
      );
    }
  }
}

function sumReplies(replies: Array<[Error | null, unknown]>): WindowCounts {
  const sum = emptyCounts();
  for (const [error, value] of replies) {
    if (error) throw error;
    add(sum, (value ?? {}) as Record<string, string>);
  }
  return sum;
}

/**
 * Redis when the hub runs on Redis (bus or state), the same choice core/outbound makes, so that
 * api and worker processes share one window and one rollback; in the process otherwise. Without
 * a canary in `llm.models` nothing is connected.
 */
export async function createCanaryStore(config: HubConfig): Promise<CanaryStore> {
  const windowMs = (config.llm.rollback ?? llmRollbackSchema.parse({})).windowMs;
  const hasCanary = config.llm.models?.some((m) => m.canary) ?? false;
  if (!hasCanary || (config.bus.driver !== 'bullmq' && config.state.driver !== 'redis')) {
    return new MemoryCanaryStore(windowMs);
  }
  const redis = await connectConfiguredRedis(config.redis, 'canary model rollback state');
  return new RedisCanaryStore(redis, config.redis.keyPrefix, windowMs, true);
}
