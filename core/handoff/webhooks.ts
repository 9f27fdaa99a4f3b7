import type { FastifyInstance, FastifyReply } from 'fastify';
import { describeConfigIssues } from '../config/issues';
import { parseJsonBody, registerRawWebhook } from '../http/webhook';
import { issueLines } from '../resilience/zod-issues';
import { HubError } from '../types/errors';
import {
  type HelpdeskInbound,
  type SignedHelpdeskWebhook,
  signedWebhooks,
  webhookSecretSchema,
} from './inbound';
import { helpdeskUpdates } from './metrics';
import { helpdeskWebhookDoc } from './openapi';
import { helpdeskPayloadSchema, interpret } from './payload';
import { type HandoffDeps, HandoffReceiver, type Outcome } from './receiver';

/**
 * The helpdesk → customer half of a handoff: each helpdesk's signed webhook
 * (`/webhooks/helpdesk/<source>`) whose secret is set, and the routes of the configured helpdesk
 * when its agents work in the hub (the embedded helpdesk's console). Each verifies, maps the
 * ticket to its conversation, publishes a `handoff` event and acks; the dialog workers do the rest.
 * `helpdesks` come from the helpdesk registry (app/ passes them).
 */
export async function registerHelpdeskWebhooks(
  app: FastifyInstance,
  deps: HandoffDeps,
  helpdesks: readonly HelpdeskInbound[],
): Promise<void> {
  const receiver = new HandoffReceiver(deps);
  const { ticketing } = deps.config;
  const { toleranceSeconds } = ticketing.webhooks;
  const bodyLimit = deps.config.server.bodyLimitBytes;
  const active: string[] = [];

  for (const webhook of signedWebhooks(helpdesks)) {
    const secret = signingSecret(ticketing.webhooks, webhook.secretKey);
    if (!secret) continue;
    await registerSigned(app, receiver, {
      webhook,
      bodyLimit,
      maxJsonDepth: deps.config.server.maxJsonDepth,
      secret,
      toleranceSeconds,
      driver: ticketing.driver,
    });
    active.push(`/webhooks/helpdesk/${webhook.source}`);
  }
  const configured = helpdesks.find((helpdesk) => helpdesk.name === ticketing.driver);
  if (configured?.routes) active.push(...(await configured.routes(app, deps, receiver)));
  deps.logger.info({ routes: active }, 'helpdesk updates accepted');
}

/** The secret under `ticketing.webhooks.<key>`; start-up validation has refused a bad one already. */
function signingSecret(webhooks: Record<string, unknown>, key: string): string | undefined {
  const parsed = webhookSecretSchema.safeParse(webhooks[key]);
  if (parsed.success) return parsed.data;
  throw new HubError(
    'config.invalid',
    describeConfigIssues(
      'config',
      parsed.error.issues.map((issue) => ({ path: ['ticketing', 'webhooks', key], message: issue.message })),
    ),
  );
}

interface SignedReceiver {
  webhook: SignedHelpdeskWebhook;
  bodyLimit: number;
  maxJsonDepth: number;
  secret: string;
  toleranceSeconds: number;
  driver: string;
}

async function registerSigned(app: FastifyInstance, receiver: HandoffReceiver, options: SignedReceiver) {
  const { webhook } = options;
  const { source } = webhook;
  const channel = `helpdesk-${source}`;
  await registerRawWebhook(app, {
    channel,
    path: `/webhooks/helpdesk/${source}`,
    bodyLimit: options.bodyLimit,
    contentTypes: ['application/json'],
    handle: async (request, body, reply) => {
      const verdict = webhook.verify({
        headers: request.headers,
        body,
        secret: options.secret,
        toleranceSeconds: options.toleranceSeconds,
      });
      if (!verdict.ok) {
        helpdeskUpdates.inc({ source, outcome: verdict.reason === 'stale' ? 'stale' : 'unauthorized' });
        request.log.warn({ source, reason: verdict.reason }, 'helpdesk webhook refused');
        return reply.code(401).send({
          error: {
            code: `helpdesk.${verdict.reason}`,
            message:
              verdict.reason === 'stale'
                ? 'Signature timestamp too far from now; check the sender clock'
                : 'Unauthorized',
          },
        });
      }
      const json = parseJsonBody(channel, body, request, reply, { maxDepth: options.maxJsonDepth });
      if (json === undefined) {
        helpdeskUpdates.inc({ source, outcome: 'bad_request' });
        return reply;
      }
      const parsed = helpdeskPayloadSchema.safeParse(json);
      if (!parsed.success) {
        helpdeskUpdates.inc({ source, outcome: 'bad_request' });
        const problems = issueLines(parsed.error, '(body)')
          .slice(0, 5)
          .map((issue) => `${issue.path}: ${issue.message}`)
          .join('; ');
        request.log.info({ source, problems }, 'helpdesk webhook body does not match the documented shape');
        return reply.code(400).send({
          error: {
            code: 'helpdesk.bad_payload',
            message: `${problems}. The README (Handoff to a human) shows the JSON body to send.`,
          },
        });
      }
      const outcome = await receiver.receive(
        source,
        interpret(parsed.data, webhook.adapterOf(parsed.data.adapter, options.driver)),
      );
      return answer(reply, outcome);
    },
    openapi: helpdeskWebhookDoc(webhook),
  });
}

/** 202 for work accepted or deliberately dropped (a helpdesk must not retry those), 200 for a repeat. */
function answer(reply: FastifyReply, outcome: Outcome) {
  switch (outcome.status) {
    case 'accepted':
      return reply.code(202).send({ status: 'accepted', eventId: outcome.eventId });
    case 'duplicate':
      return reply.code(200).send({ status: 'duplicate', eventId: outcome.eventId });
    case 'ignored':
      return reply.code(202).send({ status: 'ignored', reason: outcome.reason });
    default:
      return reply.code(202).send({ status: 'ignored', reason: 'unknown_ticket' });
  }
}
