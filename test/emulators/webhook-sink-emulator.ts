import { createHmac, timingSafeEqual } from 'node:crypto';
import { type EmulatorReply, type HelpdeskEmulator, startHelpdeskServer } from './helpdesk-faults';

/**
 * A receiver of the hub's ticketing webhook, written the way its contract asks a receiver to be:
 * it checks `X-Hub-Signature-256` over "<X-Hub-Timestamp>.<body>" and the timestamp's freshness
 * (401 otherwise), answers a repeated `Idempotency-Key` with the ticket it first created, and
 * offers the comment, read and status URLs (`/tickets/{id}/comments`, `/tickets/{id}`,
 * `/tickets/{id}/status`); `/queue` answers 202 without an id. Faults as the other helpdesk emulators.
 */
export interface WebhookSinkOptions {
  secret: string;
  toleranceSeconds?: number;
}

export interface SinkTicket {
  id: string;
  key: string;
  subject: string;
  status: string;
  priority: string;
  tags: string[];
  payload: Record<string, unknown>;
  comments: Array<{ author: string; text: string; public: boolean; at: string }>;
}

export interface WebhookSinkEmulator extends HelpdeskEmulator {
  tickets: SinkTicket[];
  /** Why the last refused request was refused. */
  lastRefusal(): string | undefined;
}

const STATUSES = ['new', 'open', 'pending', 'solved', 'closed'];

export async function startWebhookSink(options: WebhookSinkOptions): Promise<WebhookSinkEmulator> {
  const tickets: SinkTicket[] = [];
  let refusal: string | undefined;
  let nextId = 1;
  let base = '';

  const refuse = (reason: string): EmulatorReply => {
    refusal = reason;
    return { status: 401, body: { error: 'invalid_signature', reason } };
  };

  const server = await startHelpdeskServer({
    authorize(req) {
      const timestamp = req.headers['x-hub-timestamp'];
      const signature = req.headers['x-hub-signature-256'];
      if (typeof timestamp !== 'string' || typeof signature !== 'string') return refuse('missing headers');
      if (Math.abs(Date.now() / 1000 - Number(timestamp)) > (options.toleranceSeconds ?? 300))
        return refuse('stale');
      const expected = `sha256=${createHmac('sha256', options.secret).update(`${timestamp}.${req.raw}`).digest('hex')}`;
      const a = Buffer.from(expected);
      const b = Buffer.from(signature);
      if (a.length !== b.length || !timingSafeEqual(a, b)) return refuse('bad signature');
      return undefined;
    },
    errorBody: (status) => ({ error: `status ${status}` }),
    handle(req) {
      const path = req.url.pathname;
      if (path === '/tickets' && req.method === 'POST') {
        const key = req.headers['idempotency-key'];
        if (typeof key !== 'string') return { status: 400, body: { error: 'Idempotency-Key is required' } };
        const first = tickets.find((t) => t.key === key);
        if (first) return { status: 200, body: { id: first.id, url: `${base}/ui/${first.id}` } };
        const ticket = req.json.ticket ?? {};
        if (typeof ticket.subject !== 'string' || !ticket.subject) {
          return { status: 422, body: { error: 'ticket.subject is required' } };
        }
        const created: SinkTicket = {
          id: `WH-${nextId++}`,
          key,
          subject: ticket.subject,
          status: 'new',
          priority: ticket.priority,
          tags: ticket.tags ?? [],
          payload: req.json,
          comments: [
            { author: 'bot', text: ticket.description, public: false, at: new Date().toISOString() },
          ],
        };
        tickets.push(created);
        return { status: 201, body: { id: created.id, url: `${base}/ui/${created.id}` } };
      }
      // A receiver that only queues: accepted, but no ticket id to give back.
      if (path === '/queue' && req.method === 'POST') return { status: 202, body: { status: 'queued' } };
      const match = /^\/tickets\/([^/]+)(?:\/(comments|status))?$/.exec(path);
      const ticket = match ? tickets.find((t) => t.id === decodeURIComponent(match[1] ?? '')) : undefined;
      if (!match || !ticket) return { status: 404, body: { error: 'no such ticket' } };
      if (!match[2] && req.method === 'GET') {
        const { key: _k, payload: _p, ...shown } = ticket;
        return { status: 200, body: { ...shown, url: `${base}/ui/${ticket.id}` } };
      }
      if (match[2] === 'comments' && req.method === 'POST') {
        const comment = req.json.comment ?? {};
        if (typeof comment.text !== 'string')
          return { status: 422, body: { error: 'comment.text is required' } };
        ticket.comments.push({
          author: comment.author ?? 'bot',
          text: comment.text,
          public: comment.public === true,
          at: comment.at ?? new Date().toISOString(),
        });
        return { status: 201, body: { ok: true } };
      }
      if (match[2] === 'status' && req.method === 'POST') {
        if (!STATUSES.includes(req.json.status)) return { status: 422, body: { error: 'unknown status' } };
        ticket.status = req.json.status;
        return { status: 200, body: { ok: true } };
      }
      return { status: 405, body: { error: 'method not allowed' } };
    },
  });
  base = server.url;

  return {
    url: server.url,
    requests: server.requests,
    tickets,
    lastRefusal: () => refusal,
    fail: server.fail,
    ticketCount: () => tickets.length,
    reset() {
      tickets.length = 0;
      refusal = undefined;
      server.clear();
    },
    close: server.close,
  };
}
