import { LuaScript } from '../state/lua';
import { isCluster, type RedisClient } from '../state/redis-client';
import { HubError } from '../types/errors';
import type { KeyValueStore } from '../types/key-value';

/** Keep the larger number; the TTL is taken from Redis's clock, so every replica agrees on expiry. */
const RAISE = new LuaScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local value = tonumber(ARGV[1])
if value <= tonumber(redis.call('GET', KEYS[1]) or '0') then return 0 end
local ttl = tonumber(ARGV[2]) - now
if ttl <= 0 then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
return 1
`);

/** Keys under `<prefix>:`; the connection is the caller's, shared with whatever else it serves. */
export class RedisKeyValueStore implements KeyValueStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {}

  async get(key: string): Promise<string | undefined> {
    return (await this.run('get', () => this.redis.get(this.key(key)))) ?? undefined;
  }

  async set(key: string, value: string, options: { ttlMs: number; ifAbsent?: boolean }): Promise<boolean> {
    const ttl = Math.max(1, Math.round(options.ttlMs));
    const written = await this.run('set', () =>
      options.ifAbsent
        ? this.redis.set(this.key(key), value, 'PX', ttl, 'NX')
        : this.redis.set(this.key(key), value, 'PX', ttl),
    );
    return written === 'OK';
  }

  async raise(key: string, value: number, expiresAtMs: number): Promise<boolean> {
    const raised = await this.run('raise', () =>
      RAISE.run(this.redis, [this.key(key)], [String(value), String(Math.floor(expiresAtMs))]),
    );
    return raised === 1;
  }

  async delete(...keys: string[]): Promise<void> {
    if (keys.length === 0) return;
    const names = keys.map((key) => this.key(key));
    // A cluster refuses one DEL over keys of several slots: one each there.
    await this.run('delete', async () => {
      if (isCluster(this.redis)) await Promise.all(names.map((name) => this.redis.del(name)));
      else await this.redis.del(...names);
    });
  }

  namespace(name: string): KeyValueStore {
    return new RedisKeyValueStore(this.redis, `${this.prefix}:${name}`);
  }

  private key(key: string): string {
    return `${this.prefix}:${key}`;
  }

  private async run<T>(operation: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (cause) {
      throw new HubError('storage.unavailable', `Redis refused ${operation}: ${(cause as Error).message}`, {
        cause,
        retryable: true,
        status: 503,
      });
    }
  }
}
