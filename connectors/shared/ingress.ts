import type { FastifyReply } from 'fastify';
import type { ChannelContext } from '../../core/channels/types';
import { webhookRejected, webhookRequests } from '../../core/metrics';
import { isOutage } from '../../core/resilience/outage';
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

/** Why a verified payload could not be read: a HubError's code, else `normalize_failed`. */
export function rejectionReason(error: unknown): string {
  return error instanceof HubError ? error.code : 'normalize_failed';
}

/**
 * Whether an error thrown while taking a verified update means "not now" (the platform must send it
 * again: the bus or storage is down, or the tenant is over its limit) rather than "this payload
 * cannot be read".
 */
export function isTransient(error: unknown): boolean {
  if (error instanceof HubError) return error.status === 503 || error.status === 429;
  return isOutage(error);
}

/**
 * Count and keep a verified update that could not be read (normalize threw on a field of the wrong
 * type, or ctx.accept refused the event's shape). Keeping it is best effort: a failing store is logged.
 */
export function recordRejected(
  ctx: Pick<ChannelContext, 'rejected' | 'logger'>,
  channel: string,
  raw: Buffer | string,
  error: unknown,
): string {
  const reason = rejectionReason(error);
  webhookRejected.inc({ channel, reason });
  ctx.logger.warn(
    { channel, reason, err: { name: (error as Error)?.name, message: (error as Error)?.message } },
    'verified update could not be read; acknowledged and kept for inspection',
  );
  ctx.rejected
    ?.record({ channel, reason, body: raw })
    .catch((failure: unknown) =>
      ctx.logger.warn({ channel, err: failure }, 'could not keep a rejected webhook body'),
    );
  return reason;
}

/**
 * The answer to a request whose signature was verified: {@link acknowledge}, except that a payload
 * the connector cannot read is answered 200 as well — counted (`hub_webhook_rejected_total`,
 * outcome `rejected`) and kept (ctx.rejected) — so the platform stops resending something that will
 * never be read. Only "not now" (503: bus or storage down; 429: over the tenant's limit) goes back
 * to the platform as an error, to be sent again. `handle` normalizes as well as accepts, so a throw
 * anywhere in it is caught here.
 */
export async function acknowledgeVerified(
  ctx: Pick<ChannelContext, 'rejected' | 'logger'>,
  channel: string,
  reply: FastifyReply,
  raw: Buffer | string,
  handle: () => Promise<IngressOutcome>,
  body?: () => unknown,
): Promise<FastifyReply> {
  try {
    await countedOutcome(channel, handle);
  } catch (error) {
    if (isTransient(error)) {
      // countedOutcome counted a HubError 503/429; an outage thrown raw becomes the same 503.
      if (error instanceof HubError) throw error;
      webhookRequests.inc({ channel, outcome: 'unavailable' });
      throw new HubError('ingress.unavailable', 'Could not accept the update now; send it again', {
        cause: error,
        retryable: true,
        status: 503,
      });
    }
    recordRejected(ctx, channel, raw, error);
    webhookRequests.inc({ channel, outcome: 'rejected' });
    return reply.code(200).send();
  }
  return reply.code(200).send(body?.());
}
