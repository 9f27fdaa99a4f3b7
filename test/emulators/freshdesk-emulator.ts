import {
  basicHeader,
  type EmulatorReply,
  type HelpdeskEmulator,
  htmlToText,
  startHelpdeskServer,
} from './helpdesk-faults';

/**
 * A local Freshdesk API v2 (the ticket subset the hub uses): create, view, update, list with
 * `updated_since`, filter search (`query="tag:'x'"`, with the real service's indexing lag when
 * `searchLagMs` is set), notes, replies and conversations, and the API key's own agent
 * (GET /api/v2/agents/me). Basic auth `apiKey:X`. Errors follow
 * Freshdesk's documented shapes: 400 "Validation failed" with per-field errors, 401, 404, 409,
 * 429 with Retry-After, 5xx.
 */
export interface FreshdeskEmulatorOptions {
  apiKey: string;
  /** Tickets younger than this are not yet found by the search API. */
  searchLagMs?: number;
}

export interface FreshdeskTicketRecord {
  id: number;
  subject: string;
  description: string;
  description_text: string;
  status: number;
  priority: number;
  source: number;
  tags: string[];
  type: string | null;
  group_id: number | null;
  custom_fields: Record<string, unknown>;
  requester: Record<string, unknown>;
  conversations: Array<{
    id: number;
    body: string;
    body_text: string;
    private: boolean;
    incoming: boolean;
    source: number;
    created_at: string;
  }>;
  created_at: string;
  updated_at: string;
  createdMs: number;
}

export interface FreshdeskEmulator extends HelpdeskEmulator {
  tickets: FreshdeskTicketRecord[];
}

const ERRORS: Record<number, unknown> = {
  400: { description: 'Validation failed', errors: [] },
  401: { code: 'invalid_credentials', message: 'You have to be logged in to perform this action.' },
  403: { code: 'access_denied', message: 'You are not authorized to perform this action.' },
  409: { code: 'inconsistent_state', message: 'The resource is in a conflicting state' },
  422: { description: 'Validation failed', errors: [] },
  429: { message: 'You have exceeded the limit of requests per hour' },
};

export async function startFreshdeskEmulator(options: FreshdeskEmulatorOptions): Promise<FreshdeskEmulator> {
  const tickets: FreshdeskTicketRecord[] = [];
  const expected = basicHeader(options.apiKey, 'X');
  let nextId = 1;
  let nextConversationId = 5000;
  const now = () => new Date().toISOString();

  const invalid = (field: string, message: string): EmulatorReply => ({
    status: 400,
    body: { description: 'Validation failed', errors: [{ field, message, code: 'invalid_value' }] },
  });
  const show = (t: FreshdeskTicketRecord) => {
    const { conversations: _c, requester: _r, createdMs: _m, ...rest } = t;
    return rest;
  };

  const server = await startHelpdeskServer({
    authorize: (req) =>
      req.headers.authorization === expected ? undefined : { status: 401, body: ERRORS[401] },
    errorBody: (status) => ERRORS[status] ?? { message: 'Internal server error' },
    handle(req) {
      const path = req.url.pathname;
      const params = req.url.searchParams;
      if (path === '/api/v2/agents/me' && req.method === 'GET') {
        return {
          status: 200,
          body: {
            id: 77,
            type: 'support_agent',
            ticket_scope: 1,
            available: true,
            contact: { name: 'Hub Integration', email: 'hub@example.com', active: true },
          },
        };
      }
      if (path === '/api/v2/tickets' && req.method === 'GET') {
        const since = params.get('updated_since');
        const perPage = Math.min(100, Number(params.get('per_page') ?? 30));
        const page = Number(params.get('page') ?? 1);
        const listed = tickets
          .filter((t) => !since || t.updated_at >= new Date(since).toISOString())
          .sort((a, b) => (params.get('order_type') === 'asc' ? a.id - b.id : b.id - a.id));
        return { status: 200, body: listed.slice((page - 1) * perPage, page * perPage).map(show) };
      }
      if (path === '/api/v2/search/tickets' && req.method === 'GET') {
        const query = params.get('query') ?? '';
        const match = /^"tag:'([^']+)'"$/.exec(query);
        if (!match) return invalid('query', 'It should be a valid query enclosed in double quotes');
        const indexed = Date.now() - (options.searchLagMs ?? 0);
        const found = tickets.filter((t) => t.tags.includes(match[1] as string) && t.createdMs <= indexed);
        return { status: 200, body: { results: found.map(show), total: found.length } };
      }
      if (path === '/api/v2/tickets' && req.method === 'POST') {
        const input = req.json;
        if (!input.subject) return invalid('subject', 'It should not be blank');
        if (!input.description) return invalid('description', 'It should not be blank');
        if (!input.email && !input.phone && !input.requester_id && !input.unique_external_id) {
          return invalid('requester_id', 'Please fill at least 1 of requester_id, phone, email fields');
        }
        if (input.phone && !input.email && !input.name) {
          return invalid('name', 'It should be a/an String when phone is given');
        }
        if (![1, 2, 3, 4].includes(input.priority ?? 1))
          return invalid('priority', 'It should be one of 1,2,3,4');
        if (![2, 3, 4, 5].includes(input.status ?? 2))
          return invalid('status', 'It should be one of 2,3,4,5');
        const tags: string[] = input.tags ?? [];
        const tooLong = tags.find((tag) => tag.length > 32);
        if (tooLong)
          return invalid('tags', 'It should only contain elements that have maximum of 32 characters');
        const at = now();
        const ticket: FreshdeskTicketRecord = {
          id: nextId++,
          subject: input.subject,
          description: input.description,
          description_text: htmlToText(input.description),
          status: input.status ?? 2,
          priority: input.priority ?? 1,
          source: input.source ?? 2,
          tags,
          type: input.type ?? null,
          group_id: input.group_id ?? null,
          custom_fields: input.custom_fields ?? {},
          requester: {
            email: input.email,
            phone: input.phone,
            name: input.name,
            unique_external_id: input.unique_external_id,
          },
          conversations: [],
          created_at: at,
          updated_at: at,
          createdMs: Date.now(),
        };
        tickets.push(ticket);
        return { status: 201, body: show(ticket), headers: { location: `/api/v2/tickets/${ticket.id}` } };
      }
      const match = /^\/api\/v2\/tickets\/(\d+)(?:\/(notes|reply|conversations))?$/.exec(path);
      const ticket = match ? tickets.find((t) => t.id === Number(match[1])) : undefined;
      if (!match || !ticket) return { status: 404 };
      const sub = match[2];
      if (!sub && req.method === 'GET') return { status: 200, body: show(ticket) };
      if (!sub && req.method === 'PUT') {
        const status = req.json.status;
        if (status !== undefined && ![2, 3, 4, 5, 6, 7].includes(status)) {
          return invalid('status', 'It should be one of these values: 2,3,4,5,6,7');
        }
        if (status !== undefined) ticket.status = status;
        ticket.updated_at = now();
        return { status: 200, body: show(ticket) };
      }
      if ((sub === 'notes' || sub === 'reply') && req.method === 'POST') {
        if (!req.json.body) return invalid('body', 'It should not be blank');
        const conversation = {
          id: nextConversationId++,
          body: req.json.body as string,
          body_text: htmlToText(req.json.body),
          private: sub === 'notes' ? (req.json.private ?? true) : false,
          incoming: false,
          source: sub === 'notes' ? 2 : 0,
          created_at: now(),
        };
        ticket.conversations.push(conversation);
        ticket.updated_at = now();
        return { status: 201, body: { ...conversation, ticket_id: ticket.id } };
      }
      if (sub === 'conversations' && req.method === 'GET') {
        const perPage = Math.min(100, Number(params.get('per_page') ?? 30));
        const page = Number(params.get('page') ?? 1);
        return { status: 200, body: ticket.conversations.slice((page - 1) * perPage, page * perPage) };
      }
      return { status: 405, body: { message: 'Method not allowed' } };
    },
  });

  return {
    url: server.url,
    requests: server.requests,
    tickets,
    fail: server.fail,
    ticketCount: () => tickets.length,
    reset() {
      tickets.length = 0;
      server.clear();
    },
    close: server.close,
  };
}
