import { z } from 'zod';
import type { ChannelContext, Connector } from '../../core/channels/types';
import { type DraftPlatform, deliverOverDraft, openDraft } from '../../core/outbound/draft';
import { HubError } from '../../core/types';
import { flag } from './options';

/**
 * Channel keys for streamed answers: with `streaming` on, a long LLM answer appears as one message
 * edited as it is generated (at most one edit per `draftIntervalMs`, each showing at least
 * `draftMinChars` more), then edited into the final reply.
 */
export const streamingOptionFields = {
  streaming: flag.default(true),
  draftIntervalMs: z.coerce.number().int().min(250).max(60_000).default(1000),
  draftMinChars: z.coerce.number().int().min(1).default(20),
};

type StreamingOptions = { streaming: boolean; draftIntervalMs: number; draftMinChars: number };

/**
 * `deliver` and `openDraft` of a push channel that can stream: replies go through the shared
 * scheduler, over the reply's draft when `streaming` is on. `platform` is the channel's sender with
 * its draft calls; `maxChars` the longest draft text it takes.
 */
export function streamedDelivery<Call>(
  ctx: Pick<ChannelContext, 'outbound' | 'logger'>,
  options: StreamingOptions,
  platform: DraftPlatform<Call>,
  maxChars: number,
): Required<Pick<Connector, 'deliver' | 'openDraft'>> {
  return {
    async deliver(message) {
      if (!ctx.outbound) throw new HubError('outbound.missing', 'no outbound scheduler in this process');
      if (options.streaming) await deliverOverDraft(ctx.outbound, platform, message, ctx.logger);
      else await ctx.outbound.deliver(message, platform);
    },
    openDraft(ref, replyId, locale) {
      if (!options.streaming || !ctx.outbound) return undefined;
      const limits = { intervalMs: options.draftIntervalMs, minChars: options.draftMinChars, maxChars };
      return openDraft(ctx.outbound, platform, { id: replyId, ref, locale }, limits, ctx.logger);
    },
  };
}
