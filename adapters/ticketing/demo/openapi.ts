import { z } from 'zod';
import { errorResponse, type RouteDoc } from '../../../core/http/route-doc';

const commentSchema = z.object({
  id: z.string(),
  author: z.string(),
  text: z.string(),
  public: z.boolean(),
  at: z.string(),
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
  channel: z.string(),
  summary: z.string(),
  transcript: z.array(z.looseObject({})).describe('The conversation before the handoff'),
  comments: z.array(commentSchema),
  createdAt: z.string(),
  updatedAt: z.string(),
});

const CONSOLE_TAGS = ['console'];

export const consolePageDoc = (name: string, contentType: string): RouteDoc => ({
  summary: `The embedded helpdesk's agent console: ${name}`,
  tags: CONSOLE_TAGS,
  responses: { 200: { description: name, contentType } },
});

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
