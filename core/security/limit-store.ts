import { createRequire } from 'node:module';
import type { RedisClient } from '../state/redis-client';

/** A key's count in its window and the milliseconds until the window ends. */
export interface WindowCount {
  current: number;
  ttlMs: number;
}

/**
 * Fixed-window counters, the stores of @fastify/rate-limit: an LRU in the process, or one atomic Lua
 * script per hit in Redis (so replicas share a limit). With `exponentialBackoff`, each hit past `max`
 * doubles the window from that hit on: the back-off of failed logins.
 */
export interface LimitStore {
  incr(key: string, windowMs: number, max: number): Promise<WindowCount>;
  /** The count without counting a hit; zero once the window (a backed-off one too) has ended. */
  read(key: string, windowMs: number): Promise<WindowCount>;
}

type Callback = (error: Error | null, result?: { current: number; ttl: number }) => void;
interface LibraryStore {
  incr(key: string, done: Callback, windowMs: number, max: number): void;
  read(key: string, done: Callback, windowMs: number, max?: number): void;
}
// The stores are plain CommonJS files without type declarations.
const require = createRequire(import.meta.url);
const LocalStore = require('@fastify/rate-limit/store/LocalStore.js') as new (
  continueExceeding: boolean,
  exponentialBackoff: boolean,
  cache?: number,
) => LibraryStore;
const RedisStore = require('@fastify/rate-limit/store/RedisStore.js') as new (
  continueExceeding: boolean,
  exponentialBackoff: boolean,
  redis: RedisClient,
  key: string,
) => LibraryStore;

const call = (run: (done: Callback) => void): Promise<WindowCount> =>
  new Promise((resolve, reject) =>
    run((error, result) =>
      error || !result
        ? reject(error ?? new Error('no result'))
        : resolve({ current: result.current, ttlMs: result.ttl }),
    ),
  );

/** Keys live as long as their window; the LRU bounds memory under a flood of distinct keys. */
const MEMORY_KEYS = 100_000;

export function memoryLimitStore(): LimitStore {
  const store = new LocalStore(false, false, MEMORY_KEYS);
  return {
    incr: (key, windowMs, max) => call((done) => store.incr(key, done, windowMs, max)),
    read: (key, windowMs) => call((done) => store.read(key, done, windowMs)),
  };
}

/**
 * The library's Redis back-off script for one process (its LocalStore ends a backed-off window
 * after the configured one): a hit past `max` sets the window to `windowMs * 2^(current - max - 1)` from now.
 */
export function memoryBackoffStore(): LimitStore {
  const entries = new Map<string, { current: number; endsAt: number }>();
  const alive = (key: string, now: number) => {
    const entry = entries.get(key);
    if (entry && entry.endsAt > now) return entry;
    entries.delete(key);
    return undefined;
  };
  return {
    async incr(key, windowMs, max) {
      const now = Date.now();
      const entry = alive(key, now) ?? { current: 0, endsAt: now + windowMs };
      entry.current += 1;
      if (entry.current > max) entry.endsAt = now + windowMs * 2 ** (entry.current - max - 1);
      entries.delete(key);
      entries.set(key, entry);
      // Oldest first in a Map: drop the least recently hit when a flood of addresses fills it.
      if (entries.size > MEMORY_KEYS) entries.delete(entries.keys().next().value as string);
      return { current: entry.current, ttlMs: entry.endsAt - now };
    },
    async read(key) {
      const now = Date.now();
      const entry = alive(key, now);
      return entry ? { current: entry.current, ttlMs: entry.endsAt - now } : { current: 0, ttlMs: 0 };
    },
  };
}

export function redisLimitStore(
  redis: RedisClient,
  keyPrefix: string,
  options: { exponentialBackoff?: boolean } = {},
): LimitStore {
  const store = new RedisStore(false, options.exponentialBackoff ?? false, redis, `${keyPrefix}:ratelimit:`);
  return {
    incr: (key, windowMs, max) => call((done) => store.incr(key, done, windowMs, max)),
    read: (key, windowMs) => call((done) => store.read(key, done, windowMs)),
  };
}
