import { randomUUID } from 'node:crypto';
import type { ConversationLock, LockManager } from '../types';
import { LuaScript } from './lua';
import type { RedisClient } from './redis-client';

/**
 * Take the lease and issue the next fencing token atomically, so tokens are ordered exactly like
 * acquisitions. The token is INCR-like (last + 1) but never below the Redis clock in microseconds:
 * the counter key may then expire without a later token going backwards (see MonotonicTokens).
 */
const ACQUIRE = new LuaScript(`
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return false end
local now = redis.call('TIME')
local seed = tonumber(now[1]) * 1000000 + tonumber(now[2])
local last = tonumber(redis.call('GET', KEYS[2]) or '0')
local token = string.format('%.0f', math.max(seed, last + 1))
redis.call('SET', KEYS[2], token, 'PX', ARGV[3])
return token
`);

/** Only the owner may extend or release: a holder whose lease expired must not cut short its successor. */
const EXTEND = new LuaScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
return redis.call('PEXPIRE', KEYS[1], ARGV[2])
`);

const RELEASE = new LuaScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
return redis.call('DEL', KEYS[1])
`);

/** How long the last token is remembered; the clock seed covers anything older. */
export const FENCE_MEMORY_MS = 24 * 3_600_000;

export interface RedisLockManagerOptions {
  /**
   * Namespace of the lock keys, e.g. "hub:lock"; a function gives each key its own (in a Redis
   * Cluster, one with the key's hash tag, so the lock and its fence share a slot).
   */
  keyPrefix: string | ((key: string) => string);
  ownsConnection?: boolean;
}

/** Leases with SET NX PX and a random owner; fencing tokens from a per-key counter. */
export class RedisLockManager implements LockManager {
  constructor(
    private readonly redis: RedisClient,
    private readonly options: RedisLockManagerOptions,
  ) {}

  lockKey(key: string): string {
    return `${this.prefixOf(key)}:lock:${key}`;
  }

  /** Holds the last token issued for `key`; equal to a holder's token while nobody newer took the lock. */
  fenceKey(key: string): string {
    return `${this.prefixOf(key)}:fence:${key}`;
  }

  private prefixOf(key: string): string {
    const { keyPrefix } = this.options;
    return typeof keyPrefix === 'string' ? keyPrefix : keyPrefix(key);
  }

  async tryAcquire(key: string, ttlMs: number): Promise<ConversationLock | undefined> {
    const owner = randomUUID();
    const lockKey = this.lockKey(key);
    const token = await ACQUIRE.run(
      this.redis,
      [lockKey, this.fenceKey(key)],
      [owner, ttlMs, FENCE_MEMORY_MS],
    );
    if (typeof token !== 'string') return undefined;
    return this.held(key, owner, Number(token));
  }

  /** A lock that `owner` took (here, or in a script of its own that follows ACQUIRE), to extend and release. */
  held(key: string, owner: string, token: number): ConversationLock {
    const lockKey = this.lockKey(key);
    return {
      token,
      extend: async (ms: number) => (await EXTEND.run(this.redis, [lockKey], [owner, ms])) === 1,
      release: async () => {
        await RELEASE.run(this.redis, [lockKey], [owner]);
      },
    };
  }

  async close(): Promise<void> {
    if (this.options.ownsConnection) await this.redis.quit();
  }
}
