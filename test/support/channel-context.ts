import { channelIngress } from '../../core/channels/ingress';
import type { ChannelContext } from '../../core/channels/types';
import { hubConfigSchema } from '../../core/config/schema';
import { logger } from '../../core/log';
import type { OutboundScheduler } from '../../core/outbound';
import { MemoryKeyValueStore } from '../../core/storage';
import type { HubStore, InboundEvent, KeyValueStore } from '../../core/types';

/**
 * What a connector gets from the hub, for a unit test: `accept` records each event in `published`
 * and answers a repeated id as a duplicate (as the bus does); storage in memory unless given; no
 * reply feed, no transcript.
 */
export function channelContext(
  config: Record<string, unknown> & { id: string; type: string },
  options: {
    published?: InboundEvent[];
    hub?: Record<string, unknown>;
    outbound?: OutboundScheduler;
    storage?: KeyValueStore;
  } = {},
): ChannelContext {
  const published = options.published ?? [];
  return {
    config: { enabled: true, ...config } as ChannelContext['config'],
    hub: hubConfigSchema.parse(options.hub ?? {}),
    accept: recordingIngress(published),
    storage: options.storage ?? new MemoryKeyValueStore(),
    feed: { publish: async () => {}, subscribe: async () => async () => {}, close: async () => {} },
    store: {} as HubStore,
    logger,
    ...(options.outbound ? { outbound: options.outbound } : {}),
  };
}

/**
 * ChannelContext.accept over a bus stand-in that records accepted events and drops repeated ids, as
 * the bus does; `fail.on` makes it refuse, as a bus that is down would.
 */
export function recordingIngress(
  published: InboundEvent[] = [],
  fail: { on: boolean } = { on: false },
): ChannelContext['accept'] {
  const seen = new Set<string>();
  return channelIngress(async (event) => {
    if (fail.on) throw new Error('bus unavailable');
    if (seen.has(event.id)) return { accepted: false };
    seen.add(event.id);
    published.push(event);
    return { accepted: true };
  });
}

/** Sum of a prom-client counter's samples whose labels include all of `labels`. */
export async function counterValue(
  counter: { get(): Promise<{ values: Array<{ labels: object; value: number }> }> },
  labels: Record<string, string>,
): Promise<number> {
  return (await counter.get()).values
    .filter((v) =>
      Object.entries(labels).every(([k, val]) => (v.labels as Record<string, unknown>)[k] === val),
    )
    .reduce((sum, v) => sum + v.value, 0);
}
