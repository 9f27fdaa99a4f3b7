import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { handoffEventId } from '../../../core/handoff/payload';
import type { HandoffDeps, HandoffReceiver } from '../../../core/handoff/receiver';
import { detectLanguage } from '../../../core/rag/language';
import { recordOperatorAction } from '../../../core/security/audit';
import { actorOfCaller, type Caller } from '../../../core/security/caller';
import { OperatorStore } from '../../../core/security/operator-store';
import { ALL_TENANTS, inTenantScope, roleAllows } from '../../../core/security/permissions';
import { conversationLookup } from '../../../core/store/rows';
import type { TicketRequest } from '../../../core/tickets/outbox';
import { type DemoDesk, DeskError, lastCustomerQuestion } from './desk';
import type { DeskEvent, DeskFeed } from './live';
import {
  assigneeListDoc,
  ticketAssignDoc,
  ticketEventsDoc,
  ticketNoteDoc,
  ticketSuggestionsDoc,
} from './openapi';

/** How many knowledge passages the workspace suggests as replies. */
const SUGGESTIONS = 3;
/** A suggestion's text, cut to what fits a reply box. */
const SUGGESTION_CHARS = 1200;
const HEARTBEAT_MS = 15_000;

export const noteBody = z.object({ text: z.string().trim().min(1).max(4000) });
export const assignBody = z.object({ operatorId: z.string().trim().min(1).max(80) });

export interface WorkspaceContext {
  desk: DemoDesk;
  receiver: HandoffReceiver;
  deps: HandoffDeps;
  feed: DeskFeed;
}

/**
 * The agent workspace's routes beside the ticket list and actions (console.ts): internal notes,
 * a supervisor's assignment to another operator, replies suggested from the knowledge base and the
 * live stream of ticket changes. Registered inside the admin scope, behind the same guard.
 */
export function registerWorkspaceRoutes(admin: FastifyInstance, context: WorkspaceContext): void {
  const { desk, receiver, deps, feed } = context;
  const operators = new OperatorStore(deps.store.db);
  const streams = new Set<() => void>();
  // A stream never ends by itself: closing the server ends them first, or close would wait for them.
  admin.addHook('preClose', async () => {
    for (const end of [...streams]) end();
    feed.stop();
  });

  /** The ticket's request, in the caller's scope, that the caller may work on; or the refusal. */
  async function workable(caller: Caller | undefined, id: string, own: boolean) {
    const request = /^\d{1,18}$/.test(id) ? await receiver.find('demo', id) : undefined;
    const ticket = request ? await desk.get(id) : undefined;
    if (!request || !ticket) {
      throw (await desk.get(id))
        ? new DeskError(404, 'desk.no_conversation', `Demo ticket ${id} was not opened by the hub`)
        : new DeskError(404, 'desk.not_found', `No demo ticket ${id}`);
    }
    if (caller && !inTenantScope(caller.tenants, request.tenant)) {
      throw new DeskError(403, 'access.tenant', `Ticket ${id} belongs to a tenant outside your scope`);
    }
    if (own && caller?.role === 'agent' && ticket.assignee && ticket.assignee !== caller.name) {
      throw new DeskError(
        403,
        'desk.not_yours',
        `Ticket ${id} is another agent's; ask a supervisor to reassign it`,
      );
    }
    return { request, ticket };
  }

  async function audited(
    caller: Caller | undefined,
    action: 'ticket.note' | 'ticket.assign',
    request: TicketRequest,
    id: string,
    details: Record<string, unknown>,
  ) {
    await recordOperatorAction(deps.store, {
      actor: actorOfCaller(caller),
      action,
      subject: `ticket:demo:${id}`,
      tenant: request.tenant,
      details: { ...details, conversation: conversationLookup(deps.store.atRest, request.conversationKey) },
    });
  }

  admin.post<{ Params: { id: string } }>(
    '/admin/tickets/:id/note',
    { config: { permission: 'tickets.act', openapi: ticketNoteDoc(noteBody) } },
    async (request, reply) =>
      refusals(reply, async () => {
        const parsed = noteBody.safeParse(request.body ?? undefined);
        if (!parsed.success) {
          return reply
            .code(400)
            .send({ error: { code: 'bad_request', message: 'Body: {"text": "<the note>"}' } });
        }
        const caller = request.caller;
        const { id } = request.params;
        const found = await workable(caller, id, true);
        const agent = caller?.name ?? 'Agent';
        // Stored on the ticket only: nothing is published, so the customer never sees it.
        const note = await desk.note(id, { agent, text: parsed.data.text });
        await audited(caller, 'ticket.note', found.request, id, { agent });
        return reply.code(201).send({ note });
      }),
  );

  admin.get(
    '/admin/tickets/assignees',
    { config: { permission: 'tickets.assign', openapi: assigneeListDoc } },
    async (request) => {
      const caller = request.caller;
      const scope = caller?.tenants ?? [ALL_TENANTS];
      const assignees = (await operators.list())
        .filter((o) => !o.disabled && roleAllows(o.role, 'tickets.act'))
        .filter(
          (o) => scope.includes(ALL_TENANTS) || o.tenants.some((t) => t === ALL_TENANTS || scope.includes(t)),
        )
        .map((o) => ({ id: o.id, displayName: o.displayName, role: o.role, tenants: o.tenants }));
      return { assignees };
    },
  );

  admin.post<{ Params: { id: string } }>(
    '/admin/tickets/:id/assignee',
    { config: { permission: 'tickets.assign', openapi: ticketAssignDoc(assignBody) } },
    async (request, reply) =>
      refusals(reply, async () => {
        const parsed = assignBody.safeParse(request.body ?? undefined);
        if (!parsed.success) {
          return reply
            .code(400)
            .send({ error: { code: 'bad_request', message: 'Body: {"operatorId": "<an operator id>"}' } });
        }
        const caller = request.caller;
        const { id } = request.params;
        const found = await workable(caller, id, false);
        const target = (await operators.list()).find((o) => o.id === parsed.data.operatorId);
        if (!target || target.disabled || !roleAllows(target.role, 'tickets.act')) {
          throw new DeskError(
            400,
            'desk.bad_assignee',
            'No active operator with that id may work on tickets',
          );
        }
        if (!inTenantScope(target.tenants, found.request.tenant)) {
          throw new DeskError(
            400,
            'desk.assignee_tenant',
            `${target.displayName} does not work for this ticket's tenant (${found.request.tenant})`,
          );
        }
        const by = caller?.name ?? 'Supervisor';
        const outcome = await desk.act(id, 'assign', { agent: target.displayName, by }, (commentId) =>
          receiver.publish(
            'demo',
            {
              update: { change: 'assigned', adapter: 'demo', ticketId: id, agentName: target.displayName },
              agentId: `operator:${target.id}`,
              eventId: handoffEventId('demo', id, 'assigned', commentId),
            },
            found.request,
          ),
        );
        await audited(caller, 'ticket.assign', found.request, id, { agent: target.displayName, by });
        const ticket = await desk.get(id);
        return reply.code(200).send({ status: outcome?.status ?? 'unchanged', ticket });
      }),
  );

  admin.get<{ Params: { id: string } }>(
    '/admin/tickets/:id/suggestions',
    { config: { permission: 'tickets.act', openapi: ticketSuggestionsDoc } },
    async (request, reply) =>
      refusals(reply, async () => {
        const { ticket } = await workable(request.caller, request.params.id, false);
        const question = lastCustomerQuestion(ticket);
        const retriever = question ? await deps.knowledge?.() : undefined;
        if (!question || !retriever) return { suggestions: [] };
        const passages = await retriever.search(question, {
          k: SUGGESTIONS,
          tenant: ticket.tenant,
          language: detectLanguage(question),
        });
        return {
          suggestions: passages.slice(0, SUGGESTIONS).map((p) => ({
            id: p.id,
            title: p.title,
            text: p.text.length > SUGGESTION_CHARS ? `${p.text.slice(0, SUGGESTION_CHARS - 1)}…` : p.text,
            source: p.source,
            ...(p.url ? { url: p.url } : {}),
            score: Math.round(p.score * 1000) / 1000,
          })),
        };
      }),
  );

  admin.get(
    '/admin/tickets/events',
    { config: { permission: 'tickets.read', openapi: ticketEventsDoc } },
    async (request, reply) => {
      // An EventSource asks for the stream; anything else would hold a request open it cannot read.
      if (!/\btext\/event-stream\b/.test(request.headers.accept ?? '')) {
        return reply.code(406).send({
          error: {
            code: 'desk.event_stream',
            message: 'Ask with Accept: text/event-stream (an EventSource does)',
          },
        });
      }
      const caller = request.caller;
      const raw = reply.raw;
      reply.hijack();
      raw.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
        // A proxy that buffers would hold every event back until the buffer fills.
        'x-accel-buffering': 'no',
      });
      raw.write('retry: 3000\n\n');
      let ended = false;
      let unsubscribe: (() => void) | undefined;
      const heartbeat = setInterval(() => raw.write(': ping\n\n'), HEARTBEAT_MS);
      const end = () => {
        if (ended) return;
        ended = true;
        clearInterval(heartbeat);
        unsubscribe?.();
        streams.delete(end);
        raw.end();
      };
      streams.add(end);
      // The browser went away (tab closed, network lost): the response closes with its socket.
      raw.on('close', end);
      unsubscribe = await feed.subscribe((event) => {
        if (!ended && visibleTo(caller, event))
          raw.write(`id: ${event.seq}\ndata: ${JSON.stringify(event)}\n\n`);
      });
      if (ended) unsubscribe();
      else raw.write(`data: ${JSON.stringify({ type: 'ready' })}\n\n`);
    },
  );
}

/**
 * A change the caller may hear of: a ticket of a tenant in their scope; for an agent, one nobody
 * has taken or their own, and the moment someone takes one (so it leaves their queue).
 */
export function visibleTo(caller: Caller | undefined, event: DeskEvent): boolean {
  if (!caller) return true;
  if (!inTenantScope(caller.tenants, event.tenant)) return false;
  if (caller.role !== 'agent' || event.type === 'ticket.taken') return true;
  return !event.assignee || event.assignee === caller.name;
}

/** A refused request (DeskError) answered with its status and code; anything else goes to the error handler. */
async function refusals<T>(reply: FastifyReply, handle: () => Promise<T>): Promise<T | FastifyReply> {
  try {
    return await handle();
  } catch (error) {
    if (error instanceof DeskError) {
      return reply.code(error.status).send({ error: { code: error.code, message: error.message } });
    }
    throw error;
  }
}
