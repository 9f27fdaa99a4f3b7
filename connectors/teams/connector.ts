import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ConnectorFactory } from '../../core/channels/types';
import { parseJsonBody, registerRawWebhook } from '../../core/http/webhook';
import { webhookRequests } from '../../core/metrics';
import { acceptNormalized, acknowledge, acknowledgeVerified } from '../shared/ingress';
import { ignore } from '../shared/normalized';
import { parseChannelOptions } from '../shared/options';
import { streamedDelivery } from '../shared/streaming';
import { type AuthFailure, BotFrameworkTokenValidator, bearerToken } from './auth';
import { TEAMS_DRAFT_CHARS, teamsDraftPlatform } from './draft';
import { fetchTeamsFile } from './files';
import { normalizeTeamsActivity, type TeamsIdentity, tenantOf } from './normalize';
import { teamsWebhookDoc } from './openapi';
import { serviceUrlAllowed, teamsHints, teamsOptionsSchema, tokenEndpointOf } from './options';
import { ConversationReferences } from './references';
import { createTeamsSender } from './sender';
import { BotTokenProvider } from './token';
import type { Activity } from './wire';

/** The synchronous answer Teams expects to an Adaptive Card Action.Execute (Universal Actions). */
export function invokeResponse(text: string) {
  return { statusCode: 200, type: 'application/vnd.microsoft.activity.message', value: text };
}

/**
 * Microsoft Teams over the Bot Framework Activity protocol: `/webhooks/<id>` takes activities
 * signed by the Bot Connector (JWT checked before the body is parsed), tenants are allow-listed,
 * everything else is acknowledged at once and handed to the bus; Action.Execute invokes get their
 * invoke response in the same HTTP answer. Replies go to the conversation's serviceUrl through the
 * shared outbound scheduler.
 */
export const createTeamsConnector: ConnectorFactory = (ctx) => {
  const options = parseChannelOptions(ctx, teamsOptionsSchema, teamsHints);
  const channel = options.id;
  const identity: TeamsIdentity = { channel, tenant: options.tenant, appId: options.appId };
  const validator = new BotFrameworkTokenValidator({
    appId: options.appId,
    issuer: options.issuer,
    openIdMetadataUrl: options.openIdMetadataUrl,
  });
  const tokens = new BotTokenProvider({
    endpoint: tokenEndpointOf(options),
    appId: options.appId,
    appPassword: options.appPassword,
    scope: options.oauthScope,
  });
  const references = new ConversationReferences({
    store: ctx.store,
    fallbackServiceUrl: options.serviceUrl,
    logger: ctx.logger,
  });
  const sender = createTeamsSender({ channel, tokens, references, serviceUrls: options.serviceUrls });
  const drafts = teamsDraftPlatform(sender);
  const anyTenant = options.allowedTenants.includes('*');
  const allowedTenants = new Set(options.allowedTenants.map((t) => t.toLowerCase()));

  const refuse = (
    request: FastifyRequest,
    reply: FastifyReply,
    status: 401 | 403 | 503,
    reason: AuthFailure | 'tenant_not_allowed' | 'service_url_not_allowed',
  ) => {
    webhookRequests.inc({
      channel,
      outcome: status === 403 ? 'forbidden' : status === 401 ? 'unauthorized' : 'unavailable',
    });
    request.log.warn({ channel, reason, status }, 'teams activity refused');
    return reply
      .code(status)
      .send({ error: { code: `teams.${reason}`, message: status === 403 ? 'Forbidden' : 'Unauthorized' } });
  };

  async function handle(request: FastifyRequest, body: Buffer, reply: FastifyReply) {
    const token = bearerToken(request.headers.authorization);
    const verdict = token
      ? await validator.verify(token)
      : { ok: false as const, reason: 'missing_token' as const };
    if (!verdict.ok)
      return refuse(request, reply, verdict.reason === 'keys_unavailable' ? 503 : 401, verdict.reason);
    const activity = parseJsonBody(channel, body, request, reply, {
      maxDepth: ctx.hub.server.maxJsonDepth,
      rejected: ctx.rejected,
    }) as Activity | undefined;
    if (activity === undefined) return reply;
    const mismatch = BotFrameworkTokenValidator.checkActivity(verdict, activity);
    if (mismatch) return refuse(request, reply, 401, mismatch);
    if (!serviceUrlAllowed(String(activity.serviceUrl), options.serviceUrls)) {
      return refuse(request, reply, 403, 'service_url_not_allowed');
    }
    if (activity.channelId !== 'msteams')
      return acknowledge(channel, reply, () => acceptNormalized(ctx, channel, ignore('not_teams')));
    const tenant = tenantOf(activity)?.toLowerCase();
    if (!anyTenant && (!tenant || !allowedTenants.has(tenant))) {
      return refuse(request, reply, 403, 'tenant_not_allowed');
    }
    let invoked = false;
    // Unacknowledged when the hub cannot take it now, so the Bot Connector delivers the activity
    // again; acknowledged and kept when it cannot be read, so it stops sending it.
    return acknowledgeVerified(
      ctx,
      channel,
      reply,
      body,
      async () => {
        const normalized = normalizeTeamsActivity(activity, identity);
        invoked = 'event' in normalized && activity.type === 'invoke';
        const outcome = await acceptNormalized(ctx, channel, normalized);
        if ('event' in normalized) references.remember(normalized.event);
        return outcome;
      },
      () => (invoked ? invokeResponse(options.invokeAcknowledgement) : undefined),
    );
  }

  return {
    id: channel,
    type: 'teams',
    async register(app) {
      // Warm the key cache so the first activity is not slowed by two metadata requests.
      validator
        .ready()
        .catch((error: unknown) =>
          ctx.logger.warn({ reason: (error as Error).message }, 'teams: OpenID metadata not readable yet'),
        );
      await registerRawWebhook(app, {
        channel,
        path: `/webhooks/${channel}`,
        bodyLimit: ctx.hub.server.bodyLimitBytes,
        contentTypes: ['application/json'],
        // Without a bearer token the body is never read.
        authenticateHeaders: (request) => (bearerToken(request.headers.authorization) ? undefined : 401),
        handle,
        openapi: teamsWebhookDoc,
      });
    },
    ...streamedDelivery(ctx, options, drafts, TEAMS_DRAFT_CHARS),
    fetchFile(attachment) {
      return fetchTeamsFile({
        channel,
        attachment,
        tokens,
        trustedOrigins: [options.serviceUrl, ...(options.serviceUrls ?? [])].map(
          (url) => new URL(url).origin,
        ),
        maxFileBytes: options.maxFileBytes,
      });
    },
    async health() {
      try {
        await tokens.token();
      } catch (error) {
        throw new Error(`bot token: ${(error as Error).message}`);
      }
      try {
        await validator.ready();
      } catch (error) {
        throw new Error(`OpenID metadata: ${(error as Error).message}`);
      }
    },
  };
};
