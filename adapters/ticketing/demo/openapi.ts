import { z } from 'zod';
import { errorResponse, type RouteDoc } from '../../../core/http/route-doc';

const commentSchema = z.object({
  id: z.string(),
  author: z.string(),
  text: z.string(),
  public: z.boolean(),
  at: z.string(),
  kind: z
    .enum(['reply', 'note', 'assign', 'solve', 'close'])
    .optional()
    .describe("What an agent's comment records; a note is internal and never sent to the customer"),
  agent: z.string().optional().describe('The agent who wrote it'),
});

/** A demo ticket as the console reads it (desk.ts `DeskTicket`). */
const ticketSchema = z.object({
  id: z.string(),
  reference: z.string().describe("The hub's reference, HUB-..."),
  subject: z.string(),
  status: z.string(),
  priority: z.string(),
  category: z.string(),
  assignee: z.string().optional(),
  tenant: z.string(),
  channel: z.string(),
  summary: z.string().describe("The bot's case summary"),
  intent: z.string().optional(),
  slots: z.record(z.string(), z.unknown()),
  entities: z.record(z.string(), z.array(z.string())),
  transcript: z.array(z.looseObject({})).describe('The conversation before the handoff'),
  comments: z.array(commentSchema),
  createdAt: z.string(),
  updatedAt: z.string(),
});

const CONSOLE_TAGS = ['console'];

export const agentRedirectDoc: RouteDoc = {
  summary: "The embedded helpdesk's agents: a redirect to the console's workspace",
  tags: CONSOLE_TAGS,
  responses: {
    302: {
      description: 'To /console/workspace',
      headers: [{ name: 'location', description: '/console/workspace' }],
    },
  },
};

export const ticketListDoc: RouteDoc = {
  summary: 'The newest demo tickets, for the agent console',
  tags: CONSOLE_TAGS,
  admin: true,
  responses: { 200: { description: 'Tickets', schema: z.object({ tickets: z.array(ticketSchema) }) } },
};

/** `POST /admin/tickets/:id/:action`, with the body schema the handler validates with. */
export function ticketActionDoc(body: z.ZodType): RouteDoc {
  return {
    summary: "An agent's action on a demo ticket, published to the customer's conversation",
    tags: CONSOLE_TAGS,
    admin: true,
    params: z.object({
      id: z.string().regex(/^\d{1,18}$/),
      action: z.enum(['reply', 'assign', 'solve', 'close']),
    }),
    body: { contentTypes: ['application/json'], schema: body, required: false },
    responses: {
      200: {
        description: 'Done (or unchanged), with the ticket as it is now',
        schema: z.object({
          status: z.string(),
          eventId: z.string().optional(),
          ticket: ticketSchema.optional(),
        }),
      },
      400: errorResponse('bad_request: the body does not match, or a reply without text'),
      404: errorResponse('not_found (no such action), desk.not_found or desk.no_conversation'),
      503: errorResponse('ingress.unavailable: the bus could not take the update; try again'),
    },
  };
}

const ticketParams = z.object({ id: z.string().regex(/^\d{1,18}$/) });

const REFUSALS = {
  403: errorResponse("access.tenant (outside your tenants) or desk.not_yours (another agent's ticket)"),
  404: errorResponse('desk.not_found or desk.no_conversation'),
};

/** `POST /admin/tickets/:id/note`: an internal note. */
export function ticketNoteDoc(body: z.ZodType): RouteDoc {
  return {
    summary: 'An internal note on a demo ticket: stored for the agents, never sent to the customer',
    tags: CONSOLE_TAGS,
    admin: true,
    params: ticketParams,
    body: { contentTypes: ['application/json'], schema: body, required: true },
    responses: {
      201: { description: 'The note as stored', schema: z.object({ note: commentSchema }) },
      400: errorResponse('bad_request: no text, or over 4000 characters'),
      ...REFUSALS,
      409: errorResponse('desk.closed: a closed ticket takes no more notes'),
    },
  };
}

export const assigneeListDoc: RouteDoc = {
  summary: 'Operators a ticket can be assigned to: active agents, supervisors and admins sharing a tenant',
  tags: CONSOLE_TAGS,
  admin: true,
  responses: {
    200: {
      description: 'Operators',
      schema: z.object({
        assignees: z.array(
          z.object({
            id: z.string(),
            displayName: z.string(),
            role: z.string(),
            tenants: z.array(z.string()),
          }),
        ),
      }),
    },
  },
};

/** `POST /admin/tickets/:id/assignee`: a supervisor's assignment, published to the conversation. */
export function ticketAssignDoc(body: z.ZodType): RouteDoc {
  return {
    summary: 'Assign a demo ticket to another operator; the customer is told who joined',
    tags: CONSOLE_TAGS,
    admin: true,
    params: ticketParams,
    body: { contentTypes: ['application/json'], schema: body, required: true },
    responses: {
      200: {
        description: 'Assigned (or unchanged), with the ticket as it is now',
        schema: z.object({ status: z.string(), ticket: ticketSchema.optional() }),
      },
      400: errorResponse(
        'bad_request, desk.bad_assignee (no such active operator) or desk.assignee_tenant (not their tenant)',
      ),
      ...REFUSALS,
      409: errorResponse('desk.closed'),
      503: errorResponse('ingress.unavailable: the bus could not take the update; try again'),
    },
  };
}

export const ticketSuggestionsDoc: RouteDoc = {
  summary: "Replies suggested from the knowledge base for the customer's last question (top 3)",
  tags: CONSOLE_TAGS,
  admin: true,
  params: ticketParams,
  responses: {
    200: {
      description: 'Passages, best first; none when the knowledge base has nothing close enough',
      schema: z.object({
        suggestions: z.array(
          z.object({
            id: z.string(),
            title: z.string().describe("The source document's title (and section)"),
            text: z.string(),
            source: z.string(),
            url: z.string().optional(),
            score: z.number(),
          }),
        ),
      }),
    },
    ...REFUSALS,
  },
};

export const ticketEventsDoc: RouteDoc = {
  summary: 'Live changes to the demo tickets in your scope, as server-sent events',
  description:
    'Each event is `data: {"seq","type","ticketId","tenant","status","assignee","at"}` with type ticket.new, ' +
    'ticket.taken, ticket.replied, ticket.note, ticket.solved, ticket.closed or customer.message; ' +
    'never any text. `data: {"type":"ready"}` once listening; a comment line every 15 s keeps proxies open.',
  tags: CONSOLE_TAGS,
  admin: true,
  headers: [{ name: 'accept', description: 'text/event-stream', required: true }],
  responses: {
    200: { description: 'The event stream', contentType: 'text/event-stream' },
    406: errorResponse('desk.event_stream: ask with Accept: text/event-stream'),
  },
};
