import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local Zendesk Support API (the Tickets subset the hub uses): create with Idempotency-Key and
 * external_id, list by external_id, show, comments, update (comment, status), and "Show self"
 * (GET /api/v2/users/me: the authenticated user, or the anonymous user, id null, for a request
 * without credentials). Auth is API-token basic auth (`{email}/token:{token}`); errors follow
 * Zendesk's documented shapes: 401, 404 RecordNotFound, 409 on concurrent update, 422
 * RecordInvalid, 429 with Retry-After, 5xx.
 */
export interface ZendeskEmulatorOptions {
  email: string;
  apiToken: string;
  /** The role of the token's user (default admin). */
  role?: 'end-user' | 'agent' | 'admin';
}

export interface EmulatedTicket {
  id: number;
  subject: string;
  status: string;
  priority: string | null;
  tags: string[];
  external_id: string | null;
  requester?: unknown;
  comments: Array<{ id: number; body: string; public: boolean; author_id: number; created_at: string }>;
  created_at: string;
  updated_at: string;
}

export interface ZendeskFailure {
  status: number;
  retryAfter?: number;
  /** Only requests with this method (default any). */
  method?: string;
  times?: number;
  /** Never answer. */
  hang?: boolean;
  /** Do the work, then answer with the failure (a response lost on the way back). */
  afterCommit?: boolean;
}

export interface ZendeskEmulator {
  url: string;
  tickets: EmulatedTicket[];
  requests: Array<{ method: string; path: string; idempotencyKey?: string }>;
  fail(failure: ZendeskFailure): void;
  agentReply(ticketId: number, body: string): void;
  /** The helpdesk is back: injected failures still waiting are dropped, tickets are kept. */
  recover(): void;
  /** Forget tickets, requests, failures and idempotency keys. */
  reset(): void;
  close(): Promise<void>;
}

export async function startZendeskEmulator(options: ZendeskEmulatorOptions): Promise<ZendeskEmulator> {
  const tickets: EmulatedTicket[] = [];
  const requests: ZendeskEmulator['requests'] = [];
  const failures: ZendeskFailure[] = [];
  const idempotent = new Map<string, { status: number; body: unknown }>();
  const expected = `Basic ${Buffer.from(`${options.email}/token:${options.apiToken}`).toString('base64')}`;
  let nextId = 1;
  let nextCommentId = 1000;
  const now = () => new Date().toISOString();

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) =>
    res
      .writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers })
      .end(JSON.stringify(body));

  const takeFailure = (method: string): ZendeskFailure | undefined => {
    const index = failures.findIndex((f) => !f.method || f.method === method);
    if (index < 0) return undefined;
    const failure = failures[index] as ZendeskFailure;
    failure.times = (failure.times ?? 1) - 1;
    if (failure.times <= 0) failures.splice(index, 1);
    return failure;
  };

  const sendFailure = (res: ServerResponse, failure: ZendeskFailure) => {
    const headers: Record<string, string> =
      failure.retryAfter !== undefined ? { 'retry-after': String(failure.retryAfter) } : {};
    const bodies: Record<number, unknown> = {
      401: { error: "Couldn't authenticate you" },
      409: { error: 'Conflict', description: 'The ticket was updated by someone else' },
      422: { error: 'RecordInvalid', description: 'Record validation errors', details: {} },
      429: { error: 'TooManyRequests', description: 'Rate limit exceeded' },
    };
    send(res, failure.status, bodies[failure.status] ?? { error: 'InternalError' }, headers);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://emulator');
    const method = req.method ?? 'GET';
    const key = req.headers['idempotency-key'];
    requests.push({
      method,
      path: url.pathname + url.search,
      idempotencyKey: typeof key === 'string' ? key : undefined,
    });
    let raw = '';
    for await (const chunk of req) raw += chunk;
    const failure = takeFailure(method);
    if (failure?.hang) return; // the client's deadline must end it
    if (failure && !failure.afterCommit) return sendFailure(res, failure);
    const path = url.pathname.replace(/\.json$/, '');
    if (path === '/api/v2/users/me' && method === 'GET' && !req.headers.authorization) {
      return send(res, 200, { user: { id: null, url: null, name: 'Anonymous user', role: 'end-user' } });
    }
    if (req.headers.authorization !== expected) return send(res, 401, { error: "Couldn't authenticate you" });
    // biome-ignore lint/suspicious/noExplicitAny: request bodies are free-form JSON, as on the real server
    let body: Record<string, any> = {};
    try {
      body = raw ? JSON.parse(raw) : {};
    } catch {
      return send(res, 400, { error: 'Unprocessable JSON' });
    }
    const respond = (status: number, payload: unknown, headers: Record<string, string> = {}) =>
      failure ? sendFailure(res, failure) : send(res, status, payload, headers);

    const show = (t: EmulatedTicket) => {
      const { comments: _comments, ...ticket } = t;
      return { ...ticket, url: `${emulatorUrl}/api/v2/tickets/${t.id}.json` };
    };

    if (path === '/api/v2/users/me' && method === 'GET') {
      const user = { id: 900, name: 'Hub Integration', email: options.email, role: options.role ?? 'admin' };
      return respond(200, { user: { ...user, url: `${emulatorUrl}/api/v2/users/900.json` } });
    }
    if (path === '/api/v2/tickets' && method === 'GET') {
      const externalId = url.searchParams.get('external_id');
      const found = externalId === null ? tickets : tickets.filter((t) => t.external_id === externalId);
      return respond(200, {
        tickets: found.map(show),
        count: found.length,
        next_page: null,
        previous_page: null,
      });
    }
    if (path === '/api/v2/tickets' && method === 'POST') {
      if (typeof key === 'string' && idempotent.has(key)) {
        const first = idempotent.get(key) as { status: number; body: unknown };
        return respond(first.status, first.body, { 'x-idempotency-lookup': 'hit' });
      }
      const input = body.ticket;
      if (!input?.comment?.body || !input.subject) {
        return respond(422, {
          error: 'RecordInvalid',
          description: 'Record validation errors',
          details: { base: [{ description: 'Description: cannot be blank' }] },
        });
      }
      const at = now();
      const ticket: EmulatedTicket = {
        id: nextId++,
        subject: input.subject,
        status: 'new',
        priority: input.priority ?? null,
        tags: input.tags ?? [],
        external_id: input.external_id ?? null,
        requester: input.requester,
        comments: [
          {
            id: nextCommentId++,
            body: input.comment.body,
            public: input.comment.public ?? true,
            author_id: 1,
            created_at: at,
          },
        ],
        created_at: at,
        updated_at: at,
      };
      tickets.push(ticket);
      const payload = { ticket: show(ticket) };
      if (typeof key === 'string') idempotent.set(key, { status: 201, body: payload });
      return respond(201, payload, {
        location: `${emulatorUrl}/api/v2/tickets/${ticket.id}.json`,
        'x-idempotency-lookup': 'miss',
      });
    }
    const match = /^\/api\/v2\/tickets\/(\d+)(\/comments)?$/.exec(path);
    const ticket = match ? tickets.find((t) => t.id === Number(match[1])) : undefined;
    if (match && !ticket) return respond(404, { error: 'RecordNotFound', description: 'Not found' });
    if (ticket && match?.[2] && method === 'GET') {
      return respond(200, { comments: ticket.comments, count: ticket.comments.length, next_page: null });
    }
    if (ticket && method === 'GET') return respond(200, { ticket: show(ticket) });
    if (ticket && method === 'PUT') {
      const update = body.ticket ?? {};
      const statuses = ['new', 'open', 'pending', 'hold', 'solved', 'closed'];
      if (update.status !== undefined && !statuses.includes(update.status)) {
        return respond(422, {
          error: 'RecordInvalid',
          description: 'Record validation errors',
          details: { status: [{ description: `Status: ${update.status} is not valid` }] },
        });
      }
      if (update.status) ticket.status = update.status;
      if (update.comment?.body) {
        ticket.comments.push({
          id: nextCommentId++,
          body: update.comment.body,
          public: update.comment.public ?? true,
          author_id: 1,
          created_at: now(),
        });
      }
      ticket.updated_at = now();
      return respond(200, { ticket: show(ticket) });
    }
    return respond(404, { error: 'InvalidEndpoint', description: 'Not found' });
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error) => send(res, 500, { error: String(error) }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const emulatorUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url: emulatorUrl,
    tickets,
    requests,
    fail: (failure) => failures.push({ times: 1, ...failure }),
    agentReply(ticketId, text) {
      const ticket = tickets.find((t) => t.id === ticketId);
      if (!ticket) throw new Error(`no ticket ${ticketId}`);
      ticket.comments.push({
        id: nextCommentId++,
        body: text,
        public: true,
        author_id: 2,
        created_at: now(),
      });
      ticket.status = 'open';
    },
    recover() {
      failures.length = 0;
    },
    reset() {
      tickets.length = 0;
      requests.length = 0;
      failures.length = 0;
      idempotent.clear();
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
