import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { parseJsonBody, registerRawWebhook } from '../http/webhook';
import { issueLines } from '../resilience/zod-issues';
import { registerAgentConsole } from './console';
import { helpdeskUpdates } from './metrics';
import { helpdeskPayloadSchema, interpret } from './payload';
import { type HandoffDeps, HandoffReceiver, type Outcome } from './receiver';
import { type SignatureVerdict, verifyGenericSignature, verifyZendeskSignature } from './signature';

/**
 * The helpdesk → customer half of a handoff: signed webhooks from Zendesk and from any helpdesk
 * that signs like GitHub (`/webhooks/helpdesk/zendesk`, `/webhooks/helpdesk/generic`), and the
 * embedded helpdesk's agent console (`/agent`, `/admin/tickets`). Each verifies, maps the ticket
 * to its conversation, publishes a `handoff` event and acks; the dialog workers do the rest.
 * A receiver whose secret is not configured is not registered.
 */
export async function registerHelpdeskWebhooks(app: FastifyInstance, deps: HandoffDeps): Promise<void> {
  const receiver = new HandoffReceiver(deps);
  const { ticketing } = deps.config;
  const { zendeskSecret, genericSecret, toleranceSeconds } = ticketing.webhooks;
  const bodyLimit = deps.config.server.bodyLimitBytes;
  const active: string[] = [];

  if (zendeskSecret) {
    await registerSigned(app, receiver, {
      source: 'zendesk',
      bodyLimit,
      verify: (request, body) =>
        verifyZendeskSignature({
          secret: zendeskSecret,
          timestamp: request.headers['x-zendesk-webhook-signature-timestamp'],
          signature: request.headers['x-zendesk-webhook-signature'],
          body,
          toleranceSeconds,
        }),
      adapterOf: () => 'zendesk',
    });
    active.push('/webhooks/helpdesk/zendesk');
  }
  if (genericSecret) {
    await registerSigned(app, receiver, {
      source: 'generic',
      bodyLimit,
      verify: (request, body) =>
        verifyGenericSignature({
          secret: genericSecret,
          timestamp: request.headers['x-hub-timestamp'],
          signature: request.headers['x-hub-signature-256'],
          body,
          toleranceSeconds,
        }),
      adapterOf: (named) => named ?? ticketing.driver,
    });
    active.push('/webhooks/helpdesk/generic');
  }
  if (ticketing.driver === 'demo') {
    await registerAgentConsole(app, deps, receiver);
    active.push('/agent');
  }
  deps.logger.info({ routes: active }, 'helpdesk updates accepted');
}

interface SignedReceiver {
  source: 'zendesk' | 'generic';
  bodyLimit: number;
  verify(request: FastifyRequest, body: Buffer): SignatureVerdict;
  adapterOf(named: string | undefined): string;
}

async function registerSigned(app: FastifyInstance, receiver: HandoffReceiver, options: SignedReceiver) {
  const { source } = options;
  const channel = `helpdesk-${source}`;
  await registerRawWebhook(app, {
    channel,
    path: `/webhooks/helpdesk/${source}`,
    bodyLimit: options.bodyLimit,
    contentTypes: ['application/json'],
    handle: async (request, body, reply) => {
      const verdict = options.verify(request, body);
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
      const json = parseJsonBody(channel, body, request, reply);
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
        interpret(parsed.data, options.adapterOf(parsed.data.adapter)),
      );
      return answer(reply, outcome);
    },
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
