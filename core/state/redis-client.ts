import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { connectionErrorListener } from '../resilience/connection-errors';
import { HubError } from '../types/errors';

/**
 * A connection to one Redis server or to a Redis Cluster: both speak the same commands; in a cluster
 * every script and multi-key command must name keys of one hash slot (see {@link hashTag}).
 */
export type RedisClient = Redis | Cluster;

export function isCluster(redis: RedisClient): redis is Cluster {
  return redis instanceof Cluster;
}

/**
 * `{name}`: Redis Cluster hashes only what is between the braces, so keys that carry the same tag
 * live in one slot and one script may touch them all. On one server a tag would only rename keys, so
 * the callers add it in cluster mode only and single-server key names stay what they were.
 */
export function hashTag(name: string): string {
  return `{${name}}`;
}

/** Another connection like `redis` (same server or cluster, same options) with `options` on top. */
export function duplicateClient(redis: RedisClient, options: RedisOptions = {}): RedisClient {
  if (isCluster(redis)) {
    return redis.duplicate(undefined, { redisOptions: { ...redis.options.redisOptions, ...options } });
  }
  return redis.duplicate(options);
}

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

/** `host:port` or a redis:// URL as a URL. */
function nodeUrl(node: string): URL {
  return new URL(/^rediss?:\/\//i.test(node) ? node : `redis://${node}`);
}

/**
 * Connect to a Redis Cluster through its seed nodes and PING before returning, like connectRedis. The
 * first node's credentials go to every node; `options` (TLS) apply to each node connection.
 */
export async function connectRedisCluster(
  nodes: string[],
  purpose: string,
  options: RedisOptions = {},
): Promise<Cluster> {
  const described = nodes.map((node) => redactRedisUrl(nodeUrl(node).toString())).join(', ');
  let seeds: Array<{ host: string; port: number }>;
  let first: URL;
  try {
    const urls = nodes.map(nodeUrl);
    seeds = urls.map((url) => ({ host: url.hostname, port: Number(url.port || 6379) }));
    first = urls[0] as URL;
  } catch (cause) {
    throw new HubError(
      'config.invalid',
      `redis.cluster.nodes holds a node that is not host:port nor a redis:// URL (${described}). Fix: write each as "10.0.0.1:6379".`,
      { cause },
    );
  }
  const cluster = new Cluster(seeds, {
    lazyConnect: true,
    // A failed-over master's slots move to its replica: ask again soon rather than fail the command.
    retryDelayOnFailover: 200,
    retryDelayOnClusterDown: 200,
    retryDelayOnTryAgain: 200,
    slotsRefreshTimeout: 2_000,
    redisOptions: {
      connectTimeout: 3_000,
      username: decodeURIComponent(first.username) || undefined,
      password: decodeURIComponent(first.password) || undefined,
      ...options,
    },
  });
  let lastError: Error | undefined;
  const report = connectionErrorListener('redis', purpose);
  cluster.on('error', (error: Error) => {
    lastError = error;
    report(error);
  });
  try {
    await cluster.connect();
    await cluster.ping();
    return cluster;
  } catch (cause) {
    cluster.disconnect();
    const reason = (lastError?.message ?? (cause as Error).message).replace(/\.+$/, '');
    throw new HubError(
      'config.redis_unreachable',
      `Cannot reach the Redis Cluster at ${described} (needed by ${purpose}): ${reason}. ` +
        'Fix: check that the nodes run with cluster-enabled yes and the cluster is formed (redis-cli --cluster check), correct redis.cluster.nodes, or choose the memory driver.',
      { cause },
    );
  }
}
