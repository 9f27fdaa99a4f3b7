import type { Admission } from '../core/channels/admission';
import { type ChannelRegistry, findChannel, loadChannelTypes } from '../core/channels/descriptor';
import type { ChannelContext, Connector } from '../core/channels/types';
import type { ChannelConfig, HubConfig } from '../core/config/schema';
import { logger } from '../core/log';
import { outboundDriver } from '../core/outbound';
import { RateLimitedError } from '../core/security/access-limits';
import { connectConfiguredRedis } from '../core/state/redis-connect';
import { MemoryKeyValueStore, RedisKeyValueStore } from '../core/storage';
import { HubError, type KeyValueStore } from '../core/types';

/**
 * The storage handle channels share, kept where the outbound scheduler keeps its state: Redis when the
 * hub runs on Redis (every replica must agree, e.g. on WhatsApp's service window), memory otherwise.
 */
export async function createChannelStorage(
  config: HubConfig,
): Promise<{ storage: KeyValueStore; close(): Promise<void> }> {
  if (outboundDriver(config) === 'memory')
    return { storage: new MemoryKeyValueStore(), close: async () => {} };
  const redis = await connectConfiguredRedis(config.redis, 'channel storage (the WhatsApp service window)');
  return {
    storage: new RedisKeyValueStore(redis, config.redis.keyPrefix),
    close: async () => {
      await redis.quit();
    },
  };
}

/** What every connector shares; each gets its own config, logger and storage namespace on top. */
export type SharedChannelContext = Omit<ChannelContext, 'config' | 'hub' | 'logger'>;

/**
 * Not under the tenant's webhook limit: REST and web chat take requests from the public and limit
 * per address and per customer themselves (ctx.limits); WhatsApp Web's library never redelivers a
 * message it was refused. Every other channel's verified updates count against its tenant.
 */
const NOT_TENANT_LIMITED = new Set(['rest', 'webchat', 'whatsapp-web']);

/**
 * `accept` under the tenant's webhook limit: over it, a 429 with Retry-After goes back to the
 * platform, which sends the update again (never dropped here). Counted after the signature check,
 * so forged requests cannot use up a tenant's share.
 */
function tenantLimited(channel: ChannelConfig, shared: SharedChannelContext): ChannelContext['accept'] {
  const { limits, accept } = shared;
  if (!limits || NOT_TENANT_LIMITED.has(channel.type)) return accept;
  const route = `/webhooks/${channel.id}`;
  return async (event) => {
    const verdict = await limits.take('webhook.tenant', channel.tenant, route);
    if (verdict.limited) throw new RateLimitedError('webhook.tenant', verdict.retryAfterSeconds);
    return accept(event);
  };
}

/**
 * One connector per enabled channel block, built by its type's descriptor. With `admission`, each
 * channel's `accept` is under the tenant's backlog limits (core/channels/admission.ts) before its
 * webhook limit. The code of a channel type loaded on demand is imported first, for the types in use only.
 */
export async function createConnectors(
  config: HubConfig,
  registry: ChannelRegistry,
  shared: SharedChannelContext,
  admission?: Admission,
): Promise<Connector[]> {
  await loadChannelTypes(registry, config.channels);
  return config.channels
    .filter((channel) => channel.enabled)
    .map((channel) => {
      const descriptor = findChannel(registry, channel.type);
      if (!descriptor) throw new HubError('config.channel_type', `unknown channel type ${channel.type}`);
      return descriptor.create({
        ...shared,
        accept: admission
          ? admission.wrap(tenantLimited(channel, shared), channel)
          : tenantLimited(channel, shared),
        config: channel,
        hub: config,
        // Keys stay `<redis.keyPrefix>:<type>:<id>:…`, as the WhatsApp window always wrote them.
        storage: shared.storage.namespace(`${channel.type}:${channel.id}`),
        logger: logger.child({ channel: channel.id }),
      });
    });
}
