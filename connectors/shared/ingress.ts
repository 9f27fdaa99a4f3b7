import type { FastifyReply } from 'fastify';
import type { ChannelContext } from '../../core/channels/types';
import { webhookRequests } from '../../core/metrics';
import { HubError } from '../../core/types';
import { inboundIgnored } from './metrics';
import type { Normalized } from './normalized';

export type IngressOutcome = 'accepted' | 'duplicate' | 'ignored';

/** One normalized update into the hub: an ignored one counted by its reason, an event through ctx.accept. */
export async function acceptNormalized(
  ctx: Pick<ChannelContext, 'accept'>,
  channel: string,
  normalized: Normalized,
): Promise<IngressOutcome> {
  if ('ignored' in normalized) {
    inboundIgnored.inc({ channel, reason: normalized.ignored });
    return 'ignored';
  }
  const { accepted } = await ctx.accept(normalized.event);
  return accepted ? 'accepted' : 'duplicate';
}

/**
 * Count one platform request by what became of it. When the hub could not take it now (ctx.accept's
 * `ingress.unavailable`, or the storage it needed), it is counted as `unavailable` and the 503 error
 * goes on to the server, so the platform delivers the request again; over the tenant's limit it is
 * counted as `rate_limited` and answered 429 with Retry-After.
 */
export async function countedOutcome(
  channel: string,
  handle: () => Promise<IngressOutcome>,
): Promise<IngressOutcome> {
  let outcome: IngressOutcome;
  try {
    outcome = await handle();
  } catch (error) {
    if (error instanceof HubError && error.status === 503)
      webhookRequests.inc({ channel, outcome: 'unavailable' });
    // Over the tenant's limit (security.rateLimits.webhooksPerTenant): 429, the platform sends it again.
    if (error instanceof HubError && error.status === 429)
      webhookRequests.inc({ channel, outcome: 'rate_limited' });
    throw error;
  }
  webhookRequests.inc({ channel, outcome });
  return outcome;
}

/** A webhook's answer once its update is in (or a duplicate, or ignored): 200, counted by outcome. */
export async function acknowledge(
  channel: string,
  reply: FastifyReply,
  handle: () => Promise<IngressOutcome>,
  body?: unknown,
): Promise<FastifyReply> {
  await countedOutcome(channel, handle);
  return reply.code(200).send(body);
}
