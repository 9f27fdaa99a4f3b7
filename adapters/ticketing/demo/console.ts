import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { HelpdeskRoutes } from '../../../core/handoff/inbound';
import { helpdeskUpdates } from '../../../core/handoff/metrics';
import { handoffEventId } from '../../../core/handoff/payload';
import type { HandoffDeps, HandoffReceiver } from '../../../core/handoff/receiver';
import { adminGuard, adminTokenFromEnv } from '../../../core/http/admin-auth';
import { type OperatorAction, recordOperatorAction } from '../../../core/security/audit';
import { actorOfCaller, type Caller } from '../../../core/security/caller';
import { inTenantScope, PUBLIC } from '../../../core/security/permissions';
import { maskPii } from '../../../core/security/pii-mask';
import { transcriptView } from '../../../core/security/transcripts';
import { conversationLookup } from '../../../core/store/rows';
import { DemoDesk, type DeskAction, DeskError, type DeskTicket } from './desk';
import { DeskFeed } from './live';
import { agentRedirectDoc, ticketActionDoc, ticketListDoc } from './openapi';
import { registerWorkspaceRoutes } from './workspace';

/** How often the live stream reads the ticket changes while someone listens. */
const FEED_INTERVAL_MS = 1000;

const actionBody = z
  .object({
    /**
     * The agent's display name, shown to the customer with a reply: read only from a machine caller
     * (a bearer token acting for a helpdesk bridge); a signed-in operator is always their own name.
     */
    agent: z.string().trim().min(1).max(80).default('Agent'),
    text: z.string().trim().max(4000).optional(),
  })
  .default({ agent: 'Agent' });

/** Who acts, and under what name: the session's operator, never a name the request carries. */
function actorOf(caller: Caller | undefined, bodyAgent: string): { name: string; id: string } {
  if (caller?.kind === 'operator') return { name: caller.name, id: `operator:${caller.id}` };
  return { name: bodyAgent, id: `demo:${bodyAgent}` };
}

/** An agent works on tickets nobody has taken and on their own; supervisors and admins on any in scope. */
function mayAct(caller: Caller | undefined, ticket: { assignee?: string } | undefined): boolean {
  if (caller?.role !== 'agent' || !ticket?.assignee) return true;
  return ticket.assignee === caller.name;
}

const CHANGE_OF: Record<DeskAction, 'reply' | 'assigned' | 'solved' | 'closed'> = {
  reply: 'reply',
  assign: 'assigned',
  solve: 'solved',
  close: 'closed',
};

const AUDITED_AS: Record<DeskAction, OperatorAction> = {
  reply: 'ticket.reply',
  assign: 'ticket.take',
  solve: 'ticket.solve',
  close: 'ticket.close',
};

/**
 * The embedded helpdesk's routes for its agents, who work in the console's workspace
 * (`/console/workspace`; `GET /agent` redirects there): `GET /admin/tickets` and
 * `POST /admin/tickets/:id/reply|assign|solve|close`, each action written to the demo tables and
 * published as a handoff event in one transaction; workspace.ts adds notes, assignment,
 * suggestions and the live stream.
 */
export const registerAgentConsole: HelpdeskRoutes = async (
  app: FastifyInstance,
  deps: HandoffDeps,
  receiver: HandoffReceiver,
) => {
  const desk = new DemoDesk(deps.store.db);
  const feed = new DeskFeed(deps.store.db, { intervalMs: FEED_INTERVAL_MS, logger: deps.logger });
  const token = () => deps.adminToken ?? adminTokenFromEnv();
  // The agents' page is the console's workspace now (console/src/pages/workspace.tsx); old links still land.
  app.get('/agent', { config: { permission: PUBLIC, openapi: agentRedirectDoc } }, async (_request, reply) =>
    reply.redirect('/console/workspace', 302),
  );

  await app.register(async (admin) => {
    // JSON only: a text/plain body is what a cross-site "simple" request could carry.
    admin.removeContentTypeParser('text/plain');
    admin.addHook('onRequest', adminGuard(token));

    admin.get(
      '/admin/tickets',
      { config: { permission: 'tickets.read', openapi: ticketListDoc } },
      async (request) => {
        const caller = request.caller;
        const visible: DeskTicket[] = [];
        for (const ticket of await desk.list(50, caller?.tenants)) {
          // The ticket's tenant is the request's: the adapter wrote the one it was opened for.
          if (caller && !inTenantScope(caller.tenants, ticket.tenant)) continue;
          if (caller?.role === 'agent' && ticket.assignee && ticket.assignee !== caller.name) continue;
          visible.push(operatorView(caller, ticket));
        }
        return { tickets: visible };
      },
    );

    admin.post<{ Params: { id: string; action: string } }>(
      '/admin/tickets/:id/:action',
      { config: { permission: 'tickets.act', openapi: ticketActionDoc(actionBody) } },
      async (request, reply) => {
        const { id, action } = request.params;
        if (!(action in CHANGE_OF)) {
          return reply.code(404).send({
            error: { code: 'not_found', message: `No action ${action}; use reply, assign, solve or close` },
          });
        }
        const parsed = actionBody.safeParse(request.body ?? undefined);
        if (!parsed.success) {
          return reply.code(400).send({
            error: { code: 'bad_request', message: 'Body: {"agent": "<name>", "text": "<reply>"}' },
          });
        }
        const deskAction = action as DeskAction;
        if (deskAction === 'reply' && !parsed.data.text) {
          return reply.code(400).send({ error: { code: 'bad_request', message: 'A reply needs "text"' } });
        }
        const caller = request.caller;
        try {
          // Looked up before the transaction: the embedded database has one connection.
          const request = /^\d{1,18}$/.test(id) ? await receiver.find('demo', id) : undefined;
          if (!request) {
            const exists = await desk.get(id);
            throw exists
              ? new DeskError(
                  404,
                  'desk.no_conversation',
                  `Demo ticket ${id} was not opened by the hub; no conversation to answer`,
                )
              : new DeskError(404, 'desk.not_found', `No demo ticket ${id}`);
          }
          if (caller && !inTenantScope(caller.tenants, request.tenant)) {
            throw new DeskError(403, 'access.tenant', `Ticket ${id} belongs to a tenant outside your scope`);
          }
          if (!mayAct(caller, await desk.get(id))) {
            throw new DeskError(
              403,
              'desk.not_yours',
              `Ticket ${id} is another agent's; ask a supervisor to reassign it`,
            );
          }
          const actor = actorOf(caller, parsed.data.agent);
          const outcome = await desk.act(
            id,
            deskAction,
            { ...parsed.data, agent: actor.name },
            (commentId) => {
              const change = CHANGE_OF[deskAction];
              return receiver.publish(
                'demo',
                {
                  update: {
                    change,
                    adapter: 'demo',
                    ticketId: id,
                    agentName: actor.name,
                    ...(change === 'reply' ? { text: parsed.data.text } : {}),
                  },
                  agentId: actor.id,
                  eventId: handoffEventId('demo', id, change, commentId),
                },
                request,
              );
            },
          );
          const ticket = await desk.get(id);
          await recordOperatorAction(deps.store, {
            actor: actorOfCaller(caller),
            action: AUDITED_AS[deskAction],
            subject: `ticket:demo:${id}`,
            tenant: request.tenant,
            details: {
              agent: actor.name,
              outcome: outcome ? outcome.status : 'unchanged',
              ticketStatus: ticket?.status,
              // The key can name the customer (a phone number): the trail keeps its hash, like a turn's subject.
              conversation: conversationLookup(deps.store.atRest, request.conversationKey),
            },
          });
          if (!outcome)
            return reply
              .code(200)
              .send({ status: 'unchanged', ticket: ticket && operatorView(caller, ticket) });
          const eventId = 'eventId' in outcome ? outcome.eventId : undefined;
          return reply
            .code(200)
            .send({ status: outcome.status, eventId, ticket: ticket && operatorView(caller, ticket) });
        } catch (error) {
          if (error instanceof DeskError) {
            helpdeskUpdates.inc({ source: 'demo', outcome: 'bad_request' });
            request.log.info({ code: error.code, ticketId: id.slice(0, 20) }, 'agent action refused');
            return reply.code(error.status).send({ error: { code: error.code, message: error.message } });
          }
          throw error;
        }
      },
    );

    registerWorkspaceRoutes(admin, { desk, receiver, deps, feed });
  });
  return ['/agent', '/admin/tickets'];
};

/**
 * A ticket as an operator reads it: through `transcriptView`, so an analyst sees the transcript,
 * the comments and the entities the customer named with personal data masked.
 */
function operatorView(caller: Caller | undefined, ticket: DeskTicket): DeskTicket {
  const masked = caller?.role === 'analyst';
  return {
    ...ticket,
    transcript: transcriptView(caller, ticket.transcript),
    comments: transcriptView(caller, ticket.comments),
    entities: masked
      ? Object.fromEntries(
          Object.entries(ticket.entities).map(([kind, values]) => [kind, values.map((v) => maskPii(v))]),
        )
      : ticket.entities,
  };
}
