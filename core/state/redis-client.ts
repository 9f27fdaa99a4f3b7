import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { Counter } from 'prom-client';
import { registry } from '../metrics';
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

/**
 * Whether two connections speak to the same data: one server (host, port or socket path, database),
 * or a cluster with a node in common. Scripts of one may then read and write the other's keys.
 */
export function sameRedis(a: RedisClient, b: RedisClient): boolean {
  if (isCluster(a) || isCluster(b)) {
    if (!isCluster(a) || !isCluster(b)) return false;
    const address = (node: Redis) => `${node.options.host}:${node.options.port}`;
    const nodes = new Set(a.nodes().map(address));
    return b.nodes().some((node) => nodes.has(address(node)));
  }
  const { host, port, path, db } = a.options;
  return (
    host === b.options.host &&
    port === b.options.port &&
    path === b.options.path &&
    (db ?? 0) === (b.options.db ?? 0)
  );
}

/** Another connection like `redis` (same server or cluster, same options) with `options` on top. */
export function duplicateClient(redis: RedisClient, options: RedisOptions = {}): RedisClient {
  if (isCluster(redis)) {
    return redis.duplicate(undefined, { redisOptions: { ...redis.options.redisOptions, ...options } });
  }
  return redis.duplicate(options);
}

/**
 * The option that marks a connection of the hub's: its requests count in hub_redis_requests_total.
 * An option rather than a flag on the object, so what is made from it inherits it: `duplicate()`
 * (BullMQ's connections), and a cluster's connections to its nodes (from `redisOptions`).
 */
const COUNTED = 'hubCountsRequests';

let requestsSent = 0;
/** Pipelines (and MULTI blocks, which ioredis sends as pipelines) already counted. */
const pipelinesSeen = new WeakSet<object>();
/** Each connection's own count, as the property of a symbol of this module's. */
const SENT_HERE = Symbol('requests sent');
type Counted = { [SENT_HERE]?: number };

/**
 * Counts requests at their one way out, `Redis.prototype.sendCommand` (a cluster hands each command
 * to a node's connection there too): a command sent on its own is one request, a pipeline is one
 * however many commands it holds. A command a cluster redirects or retries counts again, as it costs
 * another round trip; a command queued while disconnected counts when queued and when sent.
 */
function countRequests(): void {
  const proto = Redis.prototype as unknown as {
    sendCommand(this: Redis, command: unknown, stream?: { isPipeline?: boolean }): unknown;
  };
  const send = proto.sendCommand;
  proto.sendCommand = function (this: Redis, command, stream) {
    if (
      (this.options as Record<string, unknown>)[COUNTED] === true &&
      (!stream?.isPipeline || !pipelinesSeen.has(stream))
    ) {
      if (stream?.isPipeline) pipelinesSeen.add(stream);
      requestsSent++;
      (this as Counted)[SENT_HERE] = ((this as Counted)[SENT_HERE] ?? 0) + 1;
    }
    return send.call(this, command, stream);
  };
}
countRequests();

/** Requests (round trips) this process's Redis connections have sent so far. */
export function redisRequestsSent(): number {
  return requestsSent;
}

/** The requests one connection has sent so far (a cluster's: over the node connections it has now). */
export function redisRequestsSentBy(redis: RedisClient): number {
  const nodes: Redis[] = isCluster(redis) ? redis.nodes() : [redis];
  return nodes.reduce((sum, node) => sum + ((node as Counted)[SENT_HERE] ?? 0), 0);
}

new Counter({
  name: 'hub_redis_requests_total',
  help: "Requests sent to Redis by the hub's connections: a command or a pipeline (MULTI included) counts once; commands that scripts run inside Redis do not count",
  registers: [registry],
  collect() {
    this.reset();
    this.inc(requestsSent);
  },
});

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
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 3_000,
    ...options,
    [COUNTED]: true,
  } as RedisOptions);
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
      [COUNTED]: true,
    } as RedisOptions,
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
