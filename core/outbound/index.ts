import type { HubConfig } from '../config/schema';
import type { Logger } from '../log';
import { connectConfiguredRedis } from '../state/redis-connect';
import { MemoryDeliveryLedger, RedisDeliveryLedger } from './ledger';
import { MemoryRateLimiter, RedisRateLimiter } from './rate-limit';
import { OutboundScheduler, type SchedulerPolicy } from './scheduler';

export { DeliveryError } from './errors';
export { MemoryDeliveryLedger, RedisDeliveryLedger } from './ledger';
export { MemoryRateLimiter, RedisRateLimiter } from './rate-limit';
export { type DeliveryReport, OutboundScheduler, type SchedulerPolicy } from './scheduler';
export type { ClaimResult, DeliveryLedger, PlatformSender, RateLimiter, RateRule } from './types';

export function schedulerPolicy(outbound: HubConfig['outbound']): SchedulerPolicy {
  return {
    maxAttempts: outbound.maxAttempts,
    baseDelayMs: outbound.backoffMs,
    maxDelayMs: outbound.maxBackoffMs,
    maxWaitMs: outbound.maxWaitMs,
    idempotencyTtlMs: Math.round(outbound.idempotencyHours * 3_600_000),
  };
}

/**
 * Where per-process-shared outbound state lives: Redis when the hub runs on Redis (several replicas
 * share it), in the process otherwise. `outbound.driver` overrides the choice.
 */
export function outboundDriver(config: HubConfig): 'redis' | 'memory' {
  if (config.outbound.driver !== 'auto') return config.outbound.driver;
  return config.bus.driver === 'bullmq' || config.state.driver === 'redis' ? 'redis' : 'memory';
}

/** Rate limits and idempotency records, kept where {@link outboundDriver} says. */
export async function createOutbound(
  config: HubConfig,
  logger: Logger,
): Promise<{ scheduler: OutboundScheduler; close(): Promise<void> }> {
  const driver = outboundDriver(config);
  const policy = schedulerPolicy(config.outbound);
  if (driver === 'memory') {
    const limiter = new MemoryRateLimiter();
    const ledger = new MemoryDeliveryLedger();
    return { scheduler: new OutboundScheduler({ limiter, ledger, policy, logger }), close: async () => {} };
  }
  const redis = await connectConfiguredRedis(config.redis, 'outbound rate limits and idempotency');
  const prefix = config.redis.keyPrefix;
  const limiter = new RedisRateLimiter(redis, prefix);
  const ledger = new RedisDeliveryLedger(redis, prefix);
  return {
    scheduler: new OutboundScheduler({ limiter, ledger, policy, logger }),
    close: async () => {
      await redis.quit();
    },
  };
}
