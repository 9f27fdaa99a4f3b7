import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { helpdesks } from '../../adapters/ticketing';
import { DemoDesk, DemoTicketing } from '../../adapters/ticketing/demo';
import { channelIngress } from '../../core/channels/ingress';
import { hubConfigSchema } from '../../core/config/schema';
import { registerHelpdeskWebhooks } from '../../core/handoff';
import { buildServer } from '../../core/http/server';
import { logger } from '../../core/log';
import { EmbeddedRetriever } from '../../core/rag';
import { AccessControl } from '../../core/security/guard';
import { OperatorStore } from '../../core/security/operator-store';
import type { Role } from '../../core/security/permissions';
import { createStore, type KyselyStore } from '../../core/store';
import { TicketOutbox } from '../../core/tickets/outbox';
import { ticketDb } from '../../core/tickets/schema';
import type { ConversationRef, InboundEvent, KnowledgeChunk } from '../../core/types';
import { scratchDatabase } from '../support/postgres';
import { draft } from '../support/ticket-draft';

/**
 * The agent workspace's routes of the embedded helpdesk through the real HTTP server (listening:
 * the live stream is read over a socket), PostgreSQL and signed-in operators: the live stream of
 * ticket changes, internal notes, a supervisor's assignment and replies suggested from the
 * knowledge base.
 */
const database = scratchDatabase('hub_workspace');
const PASSWORD = 'workspace-password-0001';

const config = hubConfigSchema.parse({
  database: { driver: 'postgres', url: database.url },
  ticketing: { driver: 'demo' },
  security: { rateLimits: { enabled: false } },
});

interface Session {
  cookie: string;
  csrf: string;
}

let store: KyselyStore;
let app: FastifyInstance;
let url = '';
const published: InboundEvent[] = [];
const sessions: Record<string, Session> = {};
const operatorIds: Record<string, string> = {};
let serial = 0;

const chunk = (id: string, title: string, text: string): KnowledgeChunk => ({
  id,
  docId: id,
  title,
  text,
  language: 'en',
  source: `kb/${id}.md`,
  tags: [],
});

/** A ticket the hub opened for a conversation of `tenant`, as the ticket worker leaves it. */
async function openTicket(tenant = 'default', question = 'Where is my parcel?'): Promise<string> {
  serial++;
  const ref: ConversationRef = { channel: 'webchat', tenant, conversation: `c-${serial}` };
  const { request } = await new TicketOutbox(store.db).enqueue({
    dedupeKey: `workspace:${serial}`,
    conversationKey: `webchat:${tenant}:c-${serial}`,
    tenant,
    adapter: 'demo',
    draft: draft({
      conversation: ref,
      customer: { channel: 'webchat', tenant, userId: `u${serial}`, email: 'alex@example.com' },
      transcript: [{ role: 'customer', text: question, at: '2026-11-01T10:00:00.000Z' }],
    }),
  });
  const { externalId } = await new DemoTicketing(ticketDb(store.db)).createTicket(request.draft, {
    idempotencyKey: request.id,
    tenant,
  });
  await ticketDb(store.db)
    .updateTable('ticket_requests')
    .set({ external_id: externalId, delivered_at: sql<string>`now()` })
    .where('id', '=', request.id)
    .execute();
  return externalId;
}

async function signIn(email: string): Promise<Session> {
  const response = await app.inject({
    method: 'POST',
    url: '/auth/login',
    payload: { email, password: PASSWORD },
  });
  expect(response.statusCode, response.body).toBe(200);
  const cookie = response.cookies.find((c) => c.name === 'hub_session');
  return { cookie: `hub_session=${cookie?.value}`, csrf: response.json().csrfToken };
}

const get = (who: string, path: string) =>
  app.inject({ method: 'GET', url: path, headers: { cookie: sessions[who]?.cookie ?? '' } });

const post = (who: string, path: string, body: unknown) =>
  app.inject({
    method: 'POST',
    url: path,
    headers: {
      cookie: sessions[who]?.cookie ?? '',
      'x-csrf-token': sessions[who]?.csrf ?? '',
      'content-type': 'application/json',
    },
    payload: JSON.stringify(body),
  });

/** An open event stream: every `data:` event so far, and a wait for the next one that matches. */
async function listen(who: string) {
  const controller = new AbortController();
  const response = await fetch(`${url}/admin/tickets/events`, {
    headers: { cookie: sessions[who]?.cookie ?? '', accept: 'text/event-stream' },
    signal: controller.signal,
  });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  const events: Array<Record<string, string>> = [];
  let raw = '';
  let buffer = '';
  let taken = 0;
  const pump = (async () => {
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
      if (done) return;
      const text = decoder.decode(value, { stream: true });
      raw += text;
      buffer += text;
      let end = buffer.indexOf('\n\n');
      while (end >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = block.split('\n').find((line) => line.startsWith('data: '));
        if (data) events.push(JSON.parse(data.slice(6)));
        end = buffer.indexOf('\n\n');
      }
    }
  })();
  /** The next event not yet taken (skipping the `ready` one); fails after the deadline. */
  async function next(timeoutMs = 20_000): Promise<Record<string, string>> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      while (taken < events.length) {
        const event = events[taken++] as Record<string, string>;
        if (event.type !== 'ready') return event;
      }
      if (Date.now() > until)
        throw new Error(`no event within ${timeoutMs} ms; got ${JSON.stringify(events)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  const ready = async () => {
    const until = Date.now() + 20_000;
    while (!events.some((e) => e.type === 'ready')) {
      if (Date.now() > until) throw new Error('the stream never said ready');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  await ready();
  return {
    next,
    raw: () => raw,
    close: async () => {
      controller.abort();
      await pump;
    },
  };
}

beforeAll(async () => {
  delete process.env.HUB_ADMIN_TOKEN;
  await database.create();
  store = await createStore(config);
  const operators = new OperatorStore(store.db);
  const people: Array<[string, string, Role, string[]]> = [
    ['sam', 'Sam Supervisor', 'supervisor', ['default']],
    ['mia', 'Mia Chen', 'agent', ['default']],
    ['bo', 'Bo Li', 'agent', ['default']],
    ['ann', 'Ann Acme', 'agent', ['acme']],
    ['ola', 'Ola Analyst', 'analyst', ['default']],
  ];
  for (const [login, displayName, role, tenants] of people) {
    const operator = await operators.create({
      email: `${login}@example.com`,
      displayName,
      role,
      tenants,
      password: PASSWORD,
    });
    operatorIds[login] = operator.id;
  }
  const retriever = new EmbeddedRetriever();
  await retriever.index([
    chunk(
      'refunds',
      'Refunds',
      'A refund reaches your card within 5 to 7 business days after we receive the item.',
    ),
    chunk('shipping', 'Shipping times', 'Parcels ship within 24 hours and arrive in 2 to 4 business days.'),
    chunk('warranty', 'Warranty', 'Every device has a two-year warranty against manufacturing defects.'),
  ]);
  app = await buildServer({
    config,
    connectors: [],
    readiness: [],
    security: { access: new AccessControl({ operators, security: config.security }) },
  });
  await registerHelpdeskWebhooks(
    app,
    {
      config,
      store,
      accept: channelIngress(async (event) => {
        published.push(event);
        return { accepted: true };
      }),
      logger,
      knowledge: async () => retriever,
    },
    helpdesks.descriptors,
  );
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  for (const [login] of people) sessions[login] = await signIn(`${login}@example.com`);
}, 60_000);

afterAll(async () => {
  await app?.close();
  await store?.close();
  await database.drop();
});

describe('agent workspace: live stream', () => {
  it('sends each change of a ticket in scope, in order, without any text', async () => {
    const mia = await listen('mia');
    const ann = await listen('ann');
    try {
      const id = await openTicket('default');
      expect(await mia.next()).toMatchObject({
        type: 'ticket.new',
        ticketId: id,
        tenant: 'default',
        status: 'new',
      });

      expect((await post('mia', `/admin/tickets/${id}/assign`, {})).statusCode).toBe(200);
      expect(await mia.next()).toMatchObject({ type: 'ticket.taken', ticketId: id, assignee: 'Mia Chen' });
      const secret = 'Your parcel XX12345678 is with the carrier.';
      expect((await post('mia', `/admin/tickets/${id}/reply`, { text: secret })).statusCode).toBe(200);
      expect(await mia.next()).toMatchObject({ type: 'ticket.replied', ticketId: id, status: 'open' });
      await new DemoTicketing(ticketDb(store.db)).addComment(
        id,
        { author: 'customer', text: 'Thanks, and my email is alex@example.com', public: true },
        { idempotencyKey: `customer-${id}`, tenant: 'default' },
      );
      expect(await mia.next()).toMatchObject({ type: 'customer.message', ticketId: id });
      expect((await post('mia', `/admin/tickets/${id}/note`, { text: 'Carrier ref 991' })).statusCode).toBe(
        201,
      );
      expect(await mia.next()).toMatchObject({ type: 'ticket.note', ticketId: id });
      expect((await post('mia', `/admin/tickets/${id}/solve`, {})).statusCode).toBe(200);
      expect(await mia.next()).toMatchObject({ type: 'ticket.solved', ticketId: id, status: 'solved' });
      for (const text of [secret, 'alex@example.com', 'Carrier ref']) expect(mia.raw()).not.toContain(text);

      // Another tenant's agent hears nothing of it: the first event on their stream is their own tenant's.
      const acme = await openTicket('acme');
      expect(await ann.next()).toMatchObject({ type: 'ticket.new', ticketId: acme, tenant: 'acme' });
    } finally {
      await mia.close();
      await ann.close();
    }
  }, 120_000);

  it("tells an agent that another agent took a ticket, and nothing more of that agent's ticket", async () => {
    const bo = await listen('bo');
    try {
      const id = await openTicket('default');
      expect(await bo.next()).toMatchObject({ type: 'ticket.new', ticketId: id });
      await post('mia', `/admin/tickets/${id}/assign`, {});
      expect(await bo.next()).toMatchObject({ type: 'ticket.taken', ticketId: id, assignee: 'Mia Chen' });
      await post('mia', `/admin/tickets/${id}/reply`, { text: 'Looking into it.' });
      const other = await openTicket('default');
      expect(await bo.next()).toMatchObject({ type: 'ticket.new', ticketId: other });
    } finally {
      await bo.close();
    }
  }, 120_000);

  it('answers 406 to a request that does not ask for an event stream, and 401 signed out', async () => {
    const plain = await get('ola', '/admin/tickets/events');
    expect(plain.statusCode).toBe(406);
    expect(plain.json().error.code).toBe('desk.event_stream');
    const anonymous = await fetch(`${url}/admin/tickets/events`, {
      headers: { accept: 'text/event-stream' },
    });
    expect(anonymous.status).toBe(401);
  });
});

describe('agent workspace: notes, assignment, suggestions', () => {
  it('keeps an internal note on the ticket and never publishes it to the conversation', async () => {
    const id = await openTicket('default');
    await post('mia', `/admin/tickets/${id}/assign`, {});
    const before = published.length;
    const noted = await post('mia', `/admin/tickets/${id}/note`, { text: 'Customer called twice already' });
    expect(noted.statusCode).toBe(201);
    expect(noted.json().note).toMatchObject({ kind: 'note', public: false, agent: 'Mia Chen' });
    expect(published.length).toBe(before);
    const listed = (await get('mia', '/admin/tickets'))
      .json()
      .tickets.find((t: { id: string }) => t.id === id);
    expect(listed.comments.at(-1)).toMatchObject({
      kind: 'note',
      text: 'Customer called twice already',
      public: false,
      agent: 'Mia Chen',
    });

    expect((await post('mia', `/admin/tickets/${id}/note`, { text: '  ' })).statusCode).toBe(400);
    const notYours = await post('bo', `/admin/tickets/${id}/note`, { text: 'Me too' });
    expect(notYours.statusCode).toBe(403);
    expect(notYours.json().error.code).toBe('desk.not_yours');
    const elsewhere = await post('ann', `/admin/tickets/${id}/note`, { text: 'Hello' });
    expect(elsewhere.json().error.code).toBe('access.tenant');
    expect((await post('mia', '/admin/tickets/999999/note', { text: 'x' })).statusCode).toBe(404);
  });

  it('lets a supervisor assign a ticket to another agent of its tenant, and tells the customer', async () => {
    const id = await openTicket('default');
    const assignees = (await get('sam', '/admin/tickets/assignees')).json().assignees;
    expect(assignees.map((a: { displayName: string }) => a.displayName).sort()).toEqual([
      'Bo Li',
      'Mia Chen',
      'Sam Supervisor',
    ]);
    expect(
      (await post('mia', `/admin/tickets/${id}/assignee`, { operatorId: operatorIds.bo })).statusCode,
    ).toBe(403);

    const before = published.length;
    const assigned = await post('sam', `/admin/tickets/${id}/assignee`, { operatorId: operatorIds.bo });
    expect(assigned.statusCode, assigned.body).toBe(200);
    expect(assigned.json().ticket).toMatchObject({ assignee: 'Bo Li', status: 'open' });
    expect(assigned.json().ticket.comments.at(-1)).toMatchObject({
      kind: 'assign',
      text: 'Sam Supervisor assigned the ticket to Bo Li.',
      agent: 'Sam Supervisor',
    });
    const event = published.slice(before).at(-1);
    expect(event?.handoff).toMatchObject({ change: 'assigned', ticketId: id, agentName: 'Bo Li' });
    // Now Bo's: Mia may no longer act on it, Bo may.
    expect((await post('mia', `/admin/tickets/${id}/reply`, { text: 'Hi' })).statusCode).toBe(403);
    expect((await post('bo', `/admin/tickets/${id}/reply`, { text: 'Hi, Bo here.' })).statusCode).toBe(200);

    const outside = await post('sam', `/admin/tickets/${id}/assignee`, { operatorId: operatorIds.ann });
    expect(outside.statusCode).toBe(400);
    expect(outside.json().error.code).toBe('desk.assignee_tenant');
    const analyst = await post('sam', `/admin/tickets/${id}/assignee`, { operatorId: operatorIds.ola });
    expect(analyst.json().error.code).toBe('desk.bad_assignee');
    expect((await post('sam', `/admin/tickets/${id}/assignee`, {})).statusCode).toBe(400);

    const trail = await store.auditTrail({ subject: `ticket:demo:${id}` });
    expect(trail.map((r) => r.action)).toContain('operator.ticket.assign');
  });

  it("suggests replies from the knowledge base for the customer's last question", async () => {
    const id = await openTicket('default', 'Where is my parcel?');
    const first = (await get('mia', `/admin/tickets/${id}/suggestions`)).json().suggestions;
    expect(first[0]).toMatchObject({ title: 'Shipping times', source: 'kb/shipping.md' });
    await new DemoTicketing(ticketDb(store.db)).addComment(
      id,
      { author: 'customer', text: 'And how long does a refund take to reach my card?', public: true },
      { idempotencyKey: `refund-${id}`, tenant: 'default' },
    );
    const suggestions = (await get('mia', `/admin/tickets/${id}/suggestions`)).json().suggestions;
    expect(suggestions.length).toBeGreaterThan(0);
    expect(suggestions.length).toBeLessThanOrEqual(3);
    expect(suggestions[0]).toMatchObject({ title: 'Refunds', source: 'kb/refunds.md' });
    expect(suggestions[0].text).toMatch(/5 to 7 business days/);
    // A message that only asks for a person is not the question.
    await new DemoTicketing(ticketDb(store.db)).addComment(
      id,
      { author: 'customer', text: 'Can I talk to a human please?', public: true },
      { idempotencyKey: `human-${id}`, tenant: 'default' },
    );
    const again = (await get('mia', `/admin/tickets/${id}/suggestions`)).json().suggestions;
    expect(again[0]).toMatchObject({ title: 'Refunds' });
    expect((await get('ann', `/admin/tickets/${id}/suggestions`)).statusCode).toBe(403);
    expect((await get('ola', `/admin/tickets/${id}/suggestions`)).statusCode).toBe(403);
  });

  it("lists every waiting ticket however old, within the caller's tenants", async () => {
    const first = await openTicket('default');
    await openTicket('default');
    const solved = await openTicket('default');
    await post('sam', `/admin/tickets/${solved}/solve`, {});
    const newestOnly = await new DemoDesk(store.db).list(1);
    // The newest, then every open one: the oldest waiting customer is not lost behind newer tickets.
    expect(newestOnly.map((t) => t.id)).toContain(first);
    expect(newestOnly.filter((t) => !['new', 'open'].includes(t.status)).map((t) => t.id)).toEqual([solved]);
    const acme = await new DemoDesk(store.db).list(50, ['acme']);
    expect(acme.length).toBeGreaterThan(0);
    expect(acme.every((t) => t.tenant === 'acme')).toBe(true);
    const listed = (await get('ann', '/admin/tickets')).json().tickets as Array<{ tenant: string }>;
    expect(listed.every((t) => t.tenant === 'acme')).toBe(true);
  });

  it("shows the bot's case: intent, slots, entities; an analyst's with personal data masked", async () => {
    const id = await openTicket('default');
    const ticket = (await get('mia', '/admin/tickets'))
      .json()
      .tickets.find((t: { id: string }) => t.id === id);
    expect(ticket).toMatchObject({
      tenant: 'default',
      intent: 'human_handoff',
      slots: { 'order.id': 'XX12345678' },
      entities: { order_id: ['XX12345678'] },
      summary: 'The customer asked to talk to a person.',
    });
    await new DemoTicketing(ticketDb(store.db)).addComment(
      id,
      { author: 'customer', text: 'Write to alex@example.com please', public: true },
      { idempotencyKey: `mail-${id}`, tenant: 'default' },
    );
    const seen = (await get('ola', '/admin/tickets')).json().tickets.find((t: { id: string }) => t.id === id);
    expect(JSON.stringify(seen.comments)).not.toContain('alex@example.com');
  });
});
