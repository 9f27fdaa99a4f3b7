import { Redis, type RedisOptions } from 'ioredis';
import { connectionErrorListener } from '../resilience/connection-errors';
import { HubError } from '../types/errors';

/** The URL without its password, so it can go into error messages and logs. */
export function redactRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable redis url)';
  }
}

/**
 * Connect and PING before returning, so a factory fails at start-up with a message that says how to fix
 * it instead of hanging in ioredis's reconnect loop on the first request.
 */
export async function connectRedis(url: string, purpose: string, options: RedisOptions = {}): Promise<Redis> {
  const redis = new Redis(url, { lazyConnect: true, connectTimeout: 3_000, ...options });
  let lastError: Error | undefined;
  // Without a listener ioredis prints every reconnect failure as an unhandled 'error' event.
  const report = connectionErrorListener('redis', purpose);
  redis.on('error', (error: Error) => {
    lastError = error;
    report(error);
  });
  try {
    await redis.connect();
    await redis.ping();
    return redis;
  } catch (cause) {
    redis.disconnect();
    const reason = lastError?.message ?? (cause as Error).message;
    throw new HubError(
      'config.redis_unreachable',
      `Cannot reach Redis at ${redactRedisUrl(url)} (needed by ${purpose}): ${reason}. ` +
        'Fix: start Redis (e.g. `redis-server`), correct redis.url, or choose the memory driver.',
      { cause },
    );
  }
}
