import { BusKeys } from '../bus/keys';
import type { HubConfig } from '../config/schema';
import { AtRest } from '../privacy/at-rest';
import { resolveDataKeys } from '../privacy/data-keys';
import type { LockManager, StateStore } from '../types';
import { MemoryLockManager, MemoryStateStore } from './memory';
import { RedisStateStore } from './redis';
import { hashTag, isCluster } from './redis-client';
import { connectConfiguredRedis } from './redis-connect';
import { RedisLockManager } from './redis-lock';

export { MemoryLockManager, MemoryStateStore } from './memory';
export { type RedisStateBinding, RedisStateStore } from './redis';
export { connectRedis, hashTag, isCluster, type RedisClient, redactRedisUrl } from './redis-client';
export { connectConfiguredRedis } from './redis-connect';
export { RedisLockManager } from './redis-lock';

export interface StateDeps {
  /** Namespace of every Redis key; tests use a unique one. Default "hub". */
  keyPrefix?: string;
  /** The database's sealer (`store.atRest`); without it the state store resolves the same keys itself. */
  atRest?: AtRest;
}

const HOUR_MS = 3_600_000;

/** The dialog state store chosen by `state.driver`; with "redis" it fails fast when Redis is unreachable. */
export async function createStateStore(config: HubConfig, deps: StateDeps = {}): Promise<StateStore> {
  const ttlMs = Math.max(1, Math.round(config.state.ttlHours * HOUR_MS));
  if (config.state.driver === 'memory') return new MemoryStateStore({ ttlMs });
  const atRest =
    deps.atRest ??
    new AtRest(
      await resolveDataKeys({
        inMemory: config.database.driver === 'pglite' && config.database.dataDir === 'memory://',
        keyFile: config.privacy.atRest.keyFile,
      }),
    );
  const redis = await connectConfiguredRedis(config.redis, 'state.driver "redis"');
  const keyPrefix = deps.keyPrefix ?? 'hub';
  // In a cluster each state sits in its conversation's bus slot (the BullMQ bus commits it there).
  const busKeys = config.redis.cluster
    ? new BusKeys(`${keyPrefix}:bus:${config.bus.queue}`, config.redis.cluster.shards, true)
    : undefined;
  return new RedisStateStore(redis, {
    ttlMs,
    keyPrefix,
    ownsConnection: true,
    atRest,
    ...(busKeys ? { slotOf: (key: string) => busKeys.of(key) } : {}),
  });
}

/** Conversation locks, on the same driver as the state they guard. */
export async function createLockManager(config: HubConfig, deps: StateDeps = {}): Promise<LockManager> {
  if (config.state.driver === 'memory') return new MemoryLockManager();
  const redis = await connectConfiguredRedis(config.redis, 'state.driver "redis" (locks)');
  const prefix = `${deps.keyPrefix ?? 'hub'}:locks`;
  // In a cluster each lock and its fence share the key's hash tag (one slot for the acquire script).
  const keyPrefix = isCluster(redis) ? (key: string) => `${prefix}:${hashTag(key)}` : prefix;
  return new RedisLockManager(redis, { keyPrefix, ownsConnection: true });
}
