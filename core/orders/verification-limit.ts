import type { HubConfig } from '../config/schema';
import type { RedisClient } from '../state/redis-client';
import { connectConfiguredRedis } from '../state/redis-connect';

/**
 * Failed ownership proofs over a sliding window, counted twice so that a stranger cannot lock the
 * owner out (README "Ownership proof"):
 *
 * - per requester (tenant + the person asking: their channel-verified phone or e-mail, else channel
 *   and sender id): `maxFailuresPerRequester` failures lock that requester out of every proof until
 *   the oldest leaves the window;
 * - per order (tenant + order id), over all requesters: the first `limit` failures cost nothing;
 *   after them each typed guess (an e-mail or phone number) waits `backoffMs · 2^(failures − limit)`,
 *   capped at `maxBackoffMs`, from the last failure. This bounds guessing from many identities
 *   without ever blocking the owner: a channel-verified identity and a one-time code are no guess
 *   and are not held back by the order's back-off, and a typed proof waits at most `maxBackoffMs`.
 *
 * A channel-verified identity that fails counts like any other requester.
 */
export interface VerificationLimiter {
  /** Whether typed guesses for the order must wait now (its back-off is running). */
  locked(tenant: string, orderId: string): Promise<boolean>;
  /** Milliseconds until the order takes a typed guess again; 0 when it does now. */
  orderWaitMs(tenant: string, orderId: string): Promise<number>;
  /** Milliseconds until the requester may try any proof again; 0 when they may now. */
  requesterWaitMs(tenant: string, requester: string): Promise<number>;
  /** Count one failed proof (for the requester too, when named); answers whether the order's back-off now runs. */
  recordFailure(tenant: string, orderId: string, requester?: string): Promise<boolean>;
  close?(): Promise<void>;
}

export interface VerificationLimitOptions {
  /** Failures per order within the window before its back-off starts. */
  limit: number;
  windowMs: number;
  /** First back-off of an order past its limit; doubles per further failure. Default 5 s. */
  backoffMs?: number;
  /** Longest back-off of an order. Default 5 min. */
  maxBackoffMs?: number;
  /** Failures per requester within the window before they are locked out. Default 5. */
  maxFailuresPerRequester?: number;
  now?: () => number;
}

/** What a failure log holds for one key within the window, by the log's own clock. */
interface WindowCount {
  count: number;
  oldest: number;
  newest: number;
  now: number;
}

/** The policy over a failure log; the log is in the process or on Redis. */
abstract class WindowedVerificationLimiter implements VerificationLimiter {
  constructor(protected readonly options: Omit<VerificationLimitOptions, 'now'>) {}

  protected abstract read(key: string): Promise<WindowCount>;
  protected abstract add(key: string): Promise<WindowCount>;

  async locked(tenant: string, orderId: string): Promise<boolean> {
    return (await this.orderWaitMs(tenant, orderId)) > 0;
  }

  async orderWaitMs(tenant: string, orderId: string): Promise<number> {
    return this.orderWait(await this.read(orderKey(tenant, orderId)));
  }

  async requesterWaitMs(tenant: string, requester: string): Promise<number> {
    return this.requesterWait(await this.read(requesterKey(tenant, requester)));
  }

  async recordFailure(tenant: string, orderId: string, requester?: string): Promise<boolean> {
    if (requester !== undefined) await this.add(requesterKey(tenant, requester));
    return this.orderWait(await this.add(orderKey(tenant, orderId))) > 0;
  }

  private orderWait({ count, newest, now }: WindowCount): number {
    if (count < this.options.limit) return 0;
    const backoff = Math.min(
      (this.options.backoffMs ?? 5_000) * 2 ** (count - this.options.limit),
      this.options.maxBackoffMs ?? 300_000,
    );
    return Math.max(0, newest + backoff - now);
  }

  private requesterWait({ count, oldest, now }: WindowCount): number {
    if (count < (this.options.maxFailuresPerRequester ?? 5)) return 0;
    return Math.max(1, oldest + this.options.windowMs - now);
  }
}

/** In the process: the embedded default, where one process runs every conversation. */
export class MemoryVerificationLimiter extends WindowedVerificationLimiter {
  private readonly failures = new Map<string, number[]>();
  private readonly clock: () => number;

  constructor(options: VerificationLimitOptions) {
    super(options);
    this.clock = options.now ?? Date.now;
  }

  protected async read(key: string): Promise<WindowCount> {
    return this.counted(this.recent(key));
  }

  protected async add(key: string): Promise<WindowCount> {
    const recent = this.recent(key);
    recent.push(this.clock());
    this.failures.set(key, recent);
    // Memory stays bounded by the keys that failed within one window.
    if (this.failures.size > 10_000) this.sweep();
    return this.counted(recent);
  }

  private counted(recent: number[]): WindowCount {
    return { count: recent.length, oldest: recent[0] ?? 0, newest: recent.at(-1) ?? 0, now: this.clock() };
  }

  private recent(key: string): number[] {
    const since = this.clock() - this.options.windowMs;
    return (this.failures.get(key) ?? []).filter((at) => at > since);
  }

  private sweep(): void {
    for (const key of [...this.failures.keys()]) {
      if (this.recent(key).length === 0) this.failures.delete(key);
    }
  }
}

/**
 * A sorted set of failure times per key; time comes from Redis so replicas agree.
 * KEYS[1]: the key. ARGV: window ms, then (record only) a unique member.
 * Returns count, oldest and newest failure time, and now (ms).
 */
const COUNT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[1]))
if ARGV[2] then
  redis.call('ZADD', KEYS[1], now, ARGV[2])
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]))
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local newest = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
return { redis.call('ZCARD', KEYS[1]), oldest[2] or '0', newest[2] or '0', tostring(now) }
`;

/** Shared by every process of a hub that runs on Redis. */
export class RedisVerificationLimiter extends WindowedVerificationLimiter {
  private counter = 0;

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    options: Omit<VerificationLimitOptions, 'now'>,
    private readonly ownsConnection = false,
  ) {
    super(options);
  }

  protected read(key: string): Promise<WindowCount> {
    return this.eval(key);
  }

  protected add(key: string): Promise<WindowCount> {
    return this.eval(key, `${process.pid}:${++this.counter}:${Math.random().toString(36).slice(2, 8)}`);
  }

  async close(): Promise<void> {
    if (this.ownsConnection) await this.redis.quit();
  }

  private async eval(key: string, member?: string): Promise<WindowCount> {
    const args = [String(this.options.windowMs), ...(member ? [member] : [])];
    const reply = (await this.redis.eval(COUNT, 1, `${this.prefix}:verify-failures:${key}`, ...args)) as [
      number,
      string,
      string,
      string,
    ];
    const [count, oldest, newest, now] = reply.map(Number) as [number, number, number, number];
    return { count, oldest, newest, now };
  }
}

/** Order ids are compared upper-case everywhere (core/dialog/commands.ts). */
function orderKey(tenant: string, orderId: string): string {
  return `${encodeURIComponent(tenant)}:${encodeURIComponent(orderId.toUpperCase())}`;
}

function requesterKey(tenant: string, requester: string): string {
  return `${encodeURIComponent(tenant)}:requester:${encodeURIComponent(requester)}`;
}

const HOUR_MS = 3_600_000;

/** The limiter's options from `erp.verification`. */
export function verificationLimitOptions(config: HubConfig): Omit<VerificationLimitOptions, 'now'> {
  const v = config.erp.verification;
  return {
    limit: v.maxFailuresPerOrderPerHour,
    windowMs: HOUR_MS,
    backoffMs: v.orderBackoffMs,
    maxBackoffMs: v.maxOrderBackoffMs,
    maxFailuresPerRequester: v.maxFailuresPerRequesterPerHour,
  };
}

/**
 * Redis when the hub runs on Redis (bus or state), so every replica counts the same failures; in
 * the process otherwise — the same choice core/outbound makes.
 */
export async function createVerificationLimiter(config: HubConfig): Promise<VerificationLimiter> {
  const options = verificationLimitOptions(config);
  if (config.bus.driver !== 'bullmq' && config.state.driver !== 'redis') {
    return new MemoryVerificationLimiter(options);
  }
  const redis = await connectConfiguredRedis(config.redis, 'order verification limits');
  return new RedisVerificationLimiter(redis, config.redis.keyPrefix, options, true);
}
