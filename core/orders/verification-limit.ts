import type { Redis } from 'ioredis';
import type { HubConfig } from '../config/schema';
import { connectConfiguredRedis } from '../state/redis-connect';

/**
 * Failed ownership proofs per (tenant, order) over a sliding window, shared by every conversation:
 * the per-conversation limit (erp.maxVerificationAttempts) stops one chat from guessing, this one
 * stops a guesser who opens a new chat for every few tries. Once `limit` failures fall within the
 * window the order is locked until the oldest of them leaves it.
 */
export interface VerificationLimiter {
  /** Whether the order takes no more proofs now. */
  locked(tenant: string, orderId: string): Promise<boolean>;
  /** Count one failed proof; answers whether the order is now locked. */
  recordFailure(tenant: string, orderId: string): Promise<boolean>;
  close?(): Promise<void>;
}

export interface VerificationLimitOptions {
  limit: number;
  windowMs: number;
  now?: () => number;
}

/** In the process: the embedded default, where one process runs every conversation. */
export class MemoryVerificationLimiter implements VerificationLimiter {
  private readonly failures = new Map<string, number[]>();

  constructor(private readonly options: VerificationLimitOptions) {}

  async locked(tenant: string, orderId: string): Promise<boolean> {
    return this.recent(keyOf(tenant, orderId)).length >= this.options.limit;
  }

  async recordFailure(tenant: string, orderId: string): Promise<boolean> {
    const key = keyOf(tenant, orderId);
    const recent = this.recent(key);
    recent.push(this.now());
    this.failures.set(key, recent);
    // Memory stays bounded by the orders guessed at within one window.
    if (this.failures.size > 10_000) this.sweep();
    return recent.length >= this.options.limit;
  }

  private recent(key: string): number[] {
    const since = this.now() - this.options.windowMs;
    return (this.failures.get(key) ?? []).filter((at) => at > since);
  }

  private sweep(): void {
    for (const key of [...this.failures.keys()]) {
      if (this.recent(key).length === 0) this.failures.delete(key);
    }
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }
}

/**
 * A sorted set of failure times per order; time comes from Redis so replicas agree.
 * KEYS[1]: the order's key. ARGV: window ms, limit, then (record only) a unique member.
 */
const COUNT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[1]))
if ARGV[3] then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]))
end
return redis.call('ZCARD', KEYS[1])
`;

/** Shared by every process of a hub that runs on Redis. */
export class RedisVerificationLimiter implements VerificationLimiter {
  private counter = 0;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly options: Omit<VerificationLimitOptions, 'now'>,
    private readonly ownsConnection = false,
  ) {}

  async locked(tenant: string, orderId: string): Promise<boolean> {
    const count = await this.redis.eval(COUNT, 1, this.key(tenant, orderId), String(this.options.windowMs));
    return Number(count) >= this.options.limit;
  }

  async recordFailure(tenant: string, orderId: string): Promise<boolean> {
    const member = `${process.pid}:${++this.counter}:${Math.random().toString(36).slice(2, 8)}`;
    const count = await this.redis.eval(
      COUNT,
      1,
      this.key(tenant, orderId),
      String(this.options.windowMs),
      String(this.options.limit),
      member,
    );
    return Number(count) >= this.options.limit;
  }

  async close(): Promise<void> {
    if (this.ownsConnection) await this.redis.quit();
  }

  private key(tenant: string, orderId: string): string {
    return `${this.prefix}:verify-failures:${keyOf(tenant, orderId)}`;
  }
}

/** Order ids are compared upper-case everywhere (core/dialog/commands.ts). */
function keyOf(tenant: string, orderId: string): string {
  return `${encodeURIComponent(tenant)}:${encodeURIComponent(orderId.toUpperCase())}`;
}

const HOUR_MS = 3_600_000;

/**
 * Redis when the hub runs on Redis (bus or state), so every replica counts the same failures; in
 * the process otherwise — the same choice core/outbound makes.
 */
export async function createVerificationLimiter(config: HubConfig): Promise<VerificationLimiter> {
  const options = { limit: config.erp.verification.maxFailuresPerOrderPerHour, windowMs: HOUR_MS };
  if (config.bus.driver !== 'bullmq' && config.state.driver !== 'redis') {
    return new MemoryVerificationLimiter(options);
  }
  const redis = await connectConfiguredRedis(config.redis, 'order verification limits');
  return new RedisVerificationLimiter(redis, config.redis.keyPrefix, options, true);
}
