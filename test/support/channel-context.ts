import type { ChannelContext } from '../../core/channels/types';
import { hubConfigSchema } from '../../core/config/schema';
import { logger } from '../../core/log';
import type { OutboundScheduler } from '../../core/outbound';
import type { HubStore, InboundEvent } from '../../core/types';

/**
 * What a connector gets from the hub, for a unit test: `publish` records each event in `published`
 * and answers a repeated id as a duplicate (as the bus does); no reply feed, no transcript.
 */
export function channelContext(
  config: Record<string, unknown> & { id: string; type: string },
  options: { published?: InboundEvent[]; hub?: Record<string, unknown>; outbound?: OutboundScheduler } = {},
): ChannelContext {
  const seen = new Set<string>();
  const published = options.published ?? [];
  return {
    config: { enabled: true, ...config } as ChannelContext['config'],
    hub: hubConfigSchema.parse(options.hub ?? {}),
    async publish(event) {
      if (seen.has(event.id)) return { accepted: false };
      seen.add(event.id);
      published.push(event);
      return { accepted: true };
    },
    feed: { publish: async () => {}, subscribe: async () => async () => {}, close: async () => {} },
    store: {} as HubStore,
    logger,
    ...(options.outbound ? { outbound: options.outbound } : {}),
  };
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
