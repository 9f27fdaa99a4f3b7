import type { HubConfig } from '../config/schema';
import { connectConfiguredRedis } from '../state/redis-connect';
import type { EventBus, OutboundFeed } from '../types';
import { BullmqBus } from './bullmq';
import { MemoryFeed } from './feed-memory';
import { RedisFeed } from './feed-redis';
import { MemoryBus } from './memory';
import { policyFromConfig } from './policy';

export { BullmqBus, type BullmqBusOptions, bullPrefix } from './bullmq';
export { MemoryFeed } from './feed-memory';
export { RedisFeed, type RedisFeedOptions } from './feed-redis';
export { MemoryBus } from './memory';
export { type DeliveryPolicy, policyFromConfig, retryDelayMs } from './policy';

export interface BusDeps {
  /** Namespace of every Redis key (BullMQ's included); tests use a unique one. Default "hub". */
  keyPrefix?: string;
}

/**
 * The inbound bus chosen by `bus.driver`. With "bullmq" it connects first and fails fast
 * (HubError `config.redis_unreachable`) when Redis cannot be reached.
 */
export async function createBus(config: HubConfig, deps: BusDeps = {}): Promise<EventBus> {
  const policy = policyFromConfig(config.bus);
  if (config.bus.driver === 'memory') return new MemoryBus(policy);
  const redis = await connectConfiguredRedis(config.redis, 'bus.driver "bullmq"');
  return new BullmqBus(redis, {
    ...policy,
    queue: config.bus.queue,
    keyPrefix: deps.keyPrefix ?? 'hub',
    ownsConnection: true,
    lockRenewMs: config.bus.lockRenewMs,
    stalledIntervalMs: config.bus.stalledIntervalMs,
    shards: config.redis.cluster?.shards,
  });
}

/**
 * The outbound feed on the same transport as the bus: in-process for "memory", Redis pub/sub for
 * "bullmq". Feeds made from the same config share one channel, within the process or across them.
 */
export async function createFeed(config: HubConfig, deps: BusDeps = {}): Promise<OutboundFeed> {
  const channel = `${deps.keyPrefix ?? 'hub'}:feed:${config.bus.queue}`;
  if (config.bus.driver === 'memory') return new MemoryFeed(channel);
  const redis = await connectConfiguredRedis(config.redis, 'bus.driver "bullmq" (outbound feed)');
  return new RedisFeed(redis, { channel, ownsConnection: true });
}
