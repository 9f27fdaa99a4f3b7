import { hashTag, isCluster, type RedisClient } from '../state/redis-client';
import type { RateLimiter, RateRule } from './types';

/**
 * Sliding-window log per key, all keys taken atomically: a send counts against the bot, the chat
 * and the group at once, or against none of them. Time comes from Redis so replicas agree.
 * KEYS: per rule, its window key then its block key. ARGV: member, then limit and window per rule.
 */
const ACQUIRE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local wait = 0
local rules = #KEYS / 2
for i = 1, rules do
  local key = KEYS[i * 2 - 1]
  local limit = tonumber(ARGV[i * 2])
  local window = tonumber(ARGV[i * 2 + 1])
  local blocked = redis.call('PTTL', KEYS[i * 2])
  if blocked > wait then wait = blocked end
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  if redis.call('ZCARD', key) >= limit then
    local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    local until_free = tonumber(oldest[2]) + window - now
    if until_free > wait then wait = until_free end
  end
end
if wait > 0 then return wait end
for i = 1, rules do
  local key = KEYS[i * 2 - 1]
  redis.call('ZADD', key, now, ARGV[1])
  redis.call('PEXPIRE', key, tonumber(ARGV[i * 2 + 1]))
end
return 0
`;

/**
 * Rate limits on Redis. In a Redis Cluster every key carries the hash tag of its sender, the first two
 * parts of the rule key (`telegram:<channel>`): the rules taken together in one script are one
 * sender's (bot, chat, group), so they share a slot.
 */
export class RedisRateLimiter implements RateLimiter {
  private counter = 0;
  private readonly cluster: boolean;

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {
    this.cluster = isCluster(redis);
  }

  async tryAcquire(rules: RateRule[]): Promise<number> {
    if (rules.length === 0) return 0;
    const keys = rules.flatMap((rule) => [this.windowKey(rule.key), this.blockKey(rule.key)]);
    // Unique per call: a sorted-set member added twice in one millisecond would count once.
    const member = `${process.pid}:${++this.counter}:${Math.random().toString(36).slice(2, 8)}`;
    const args = [member, ...rules.flatMap((rule) => [String(rule.limit), String(rule.windowMs)])];
    const wait = await this.redis.eval(ACQUIRE, keys.length, ...keys, ...args);
    return Number(wait);
  }

  async block(key: string, ms: number): Promise<void> {
    if (ms <= 0) return;
    // Never shorten a longer block another replica set.
    const current = await this.redis.pttl(this.blockKey(key));
    if (current < ms) await this.redis.set(this.blockKey(key), '1', 'PX', Math.ceil(ms));
  }

  /** The connection is createOutbound's, which closes it. */
  async close(): Promise<void> {}

  private windowKey(key: string): string {
    return `${this.prefix}:rate:${this.tagged(key)}`;
  }

  private blockKey(key: string): string {
    return `${this.prefix}:rate:${this.tagged(key)}:blocked`;
  }

  private tagged(key: string): string {
    return this.cluster ? `${hashTag(key.split(':').slice(0, 2).join(':'))}:${key}` : key;
  }
}

/** The same contract within one process (embedded mode). */
export class MemoryRateLimiter implements RateLimiter {
  private readonly windows = new Map<string, number[]>();
  private readonly blocks = new Map<string, number>();

  async tryAcquire(rules: RateRule[]): Promise<number> {
    const now = Date.now();
    let wait = 0;
    for (const rule of rules) {
      const blockedUntil = this.blocks.get(rule.key) ?? 0;
      wait = Math.max(wait, blockedUntil - now);
      const log = (this.windows.get(rule.key) ?? []).filter((at) => at > now - rule.windowMs);
      this.windows.set(rule.key, log);
      const oldest = log[0];
      if (log.length >= rule.limit && oldest !== undefined)
        wait = Math.max(wait, oldest + rule.windowMs - now);
    }
    if (wait > 0) return wait;
    for (const rule of rules) this.windows.get(rule.key)?.push(now);
    return 0;
  }

  async block(key: string, ms: number): Promise<void> {
    this.blocks.set(key, Math.max(this.blocks.get(key) ?? 0, Date.now() + ms));
  }

  async close(): Promise<void> {}
}
