import type { RedisOptions } from 'ioredis';
import { isTlsFailure, type RedisTlsSettings, redisTlsOptions } from '../security/tls';
import { HubError } from '../types/errors';
import { connectRedis, connectRedisCluster, type RedisClient } from './redis-client';

/**
 * Every Redis connection of the hub starts here, so each one gets the TLS options of the config
 * (rediss://, redis.tls), and a Redis Cluster client when `redis.cluster` is set. Connections made from these (BullMQ's, `duplicate()`) inherit them.
 */
export async function connectConfiguredRedis(
  redis: RedisTlsSettings & { cluster?: { nodes: string[] } },
  purpose: string,
  options: RedisOptions = {},
): Promise<RedisClient> {
  try {
    if (redis.cluster) {
      // The nodes' scheme says whether they speak TLS, as redis.url does for one server.
      const tls = redisTlsOptions({ url: redis.cluster.nodes[0] ?? '', tls: redis.tls });
      return await connectRedisCluster(redis.cluster.nodes, purpose, { ...tls, ...options });
    }
    return await connectRedis(redis.url, purpose, { ...redisTlsOptions(redis), ...options });
  } catch (error) {
    if (
      !(error instanceof HubError) ||
      error.code !== 'config.redis_unreachable' ||
      !isTlsFailure(error.message)
    )
      throw error;
    // connectRedis's advice is for a server that is down; this one answered but the handshake failed.
    const withoutAdvice = error.message.replace(/ Fix: .*$/s, '');
    throw new HubError(
      'config.redis_tls',
      `${withoutAdvice} Fix: set redis.tls.caFile to the CA that signed Redis's certificate, check that the ` +
        "certificate names the host in redis.url, and that this port is Redis's tls-port.",
      { cause: error },
    );
  }
}
