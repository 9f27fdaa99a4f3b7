import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { helpdesks } from '../../adapters/ticketing';
import { DemoTicketing } from '../../adapters/ticketing/demo';
import { signGeneric } from '../../adapters/ticketing/webhook';
import { signZendesk } from '../../adapters/ticketing/zendesk';
import { MemoryBus, policyFromConfig } from '../../core/bus';
import { channelIngress } from '../../core/channels/ingress';
import { hubConfigSchema } from '../../core/config/schema';
import { registerHelpdeskWebhooks } from '../../core/handoff';
import { buildServer } from '../../core/http/server';
import { logger } from '../../core/log';
import { createStore, type KyselyStore } from '../../core/store';
import { TicketOutbox } from '../../core/tickets/outbox';
import { ticketDb } from '../../core/tickets/schema';
import type { ConversationRef, InboundEvent } from '../../core/types';
import { scratchDatabase } from '../support/postgres';
import { draft } from '../support/ticket-draft';

/**
 * The helpdesk → customer half of a handoff through the real HTTP server, store (PostgreSQL) and
 * in-memory bus: signed Zendesk and generic webhooks, and the embedded helpdesk's agent console.
 * (PostgreSQL rather than PGlite: PGlite's start-up costs tens of seconds on a loaded machine.)
 */
const database = scratchDatabase('hub_handoff');

const ZENDESK_SECRET = 'dGhpcyBpcyBhIHplbmRlc2sgc2VjcmV0';
const GENERIC_SECRET = 'generic-helpdesk-secret-0123456789';
const ADMIN_TOKEN = 'admin-token-for-tests-0123456789';

const config = hubConfigSchema.parse({
  database: { driver: 'postgres', url: database.url },
  ticketing: { driver: 'demo', webhooks: { zendeskSecret: ZENDESK_SECRET, genericSecret: GENERIC_SECRET } },
});

const zendeskRef: ConversationRef = { channel: 'telegram-support', tenant: 'acme', conversation: '42' };
const demoRef: ConversationRef = { channel: 'webchat', tenant: 'default', conversation: 'c-demo' };

let store: KyselyStore;
let bus: MemoryBus;
let open: FastifyInstance; // no admin token: loopback only
let guarded: FastifyInstance; // HUB_ADMIN_TOKEN set
const published: InboundEvent[] = [];
let busDown = false;
let demoTicketId = '';
let zendeskRequestId = '';

async function server(adminToken?: string): Promise<FastifyInstance> {
  const app = await buildServer({ config, connectors: [], readiness: [] });
  await registerHelpdeskWebhooks(
    app,
    {
      config,
      store,
      accept: channelIngress(async (event) => {
        if (busDown) throw new Error('connect ECONNREFUSED 127.0.0.1:6379');
        return bus.publish(event);
      }),
      logger,
      ...(adminToken ? { adminToken } : {}),
    },
    helpdesks.descriptors,
  );
  await app.ready();
  return app;
}

/** A ticket request the outbox delivered: adapter + the helpdesk's id → the conversation. */
async function deliveredRequest(adapter: string, externalId: string, ref: ConversationRef) {
  const outbox = new TicketOutbox(store.db);
  const { request } = await outbox.enqueue({
    dedupeKey: `${adapter}:${externalId}`,
    conversationKey: `${ref.channel}:${ref.tenant}:${ref.conversation}`,
    tenant: ref.tenant,
    adapter,
    draft: draft({ conversation: ref, locale: 'zh-CN' }),
  });
  await ticketDb(store.db)
    .updateTable('ticket_requests')
    .set({ external_id: externalId, delivered_at: sql<string>`now()` })
    .where('id', '=', request.id)
    .execute();
  return request;
}

function zendeskPost(body: unknown, options: { timestamp?: string; secret?: string; raw?: string } = {}) {
  const payload = options.raw ?? JSON.stringify(body);
  const timestamp = options.timestamp ?? new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  return {
    method: 'POST' as const,
    url: '/webhooks/helpdesk/zendesk',
    headers: {
      'content-type': 'application/json',
      'x-zendesk-webhook-signature-timestamp': timestamp,
      'x-zendesk-webhook-signature': signZendesk(options.secret ?? ZENDESK_SECRET, timestamp, payload),
      'x-zendesk-webhook-id': '01F1KRFQ6BG29CNWFR60NK5FNY',
    },
    payload,
  };
}

function genericPost(body: unknown, options: { timestamp?: string } = {}) {
  const payload = JSON.stringify(body);
  const timestamp = options.timestamp ?? String(Math.floor(Date.now() / 1000));
  return {
    method: 'POST' as const,
    url: '/webhooks/helpdesk/generic',
    headers: {
      'content-type': 'application/json',
      'x-hub-timestamp': timestamp,
      'x-hub-signature-256': signGeneric(GENERIC_SECRET, timestamp, payload),
    },
    payload,
  };
}

/** What the README's Zendesk trigger body renders to for a public agent reply. */
const zendeskReply = (commentBody = 'Your parcel left our warehouse today.') => ({
  event: 'reply',
  ticket: {
    id: '35436',
    external_id: zendeskRequestId,
    status: 'open',
    updated_at: '2026-11-02T10:00:00Z',
    assignee: { id: '235324', name: 'Mia Chen' },
  },
  comment: {
    public: true,
    body: commentBody,
    author: { id: '235324', name: 'Mia Chen', role: 'agent' },
    created_at: '2026-11-02T10:00:00Z',
  },
});

async function nextEvents(n: number): Promise<InboundEvent[]> {
  const deadline = Date.now() + 2_000;
  while (published.length < n) {
    if (Date.now() > deadline) throw new Error(`expected ${n} published events, got ${published.length}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return published.splice(0, n);
}

beforeAll(async () => {
  delete process.env.HUB_ADMIN_TOKEN;
  await database.create();
  store = await createStore(config);
  bus = new MemoryBus(policyFromConfig(config.bus));
  await bus.consume(async (event) => {
    published.push(event);
  });
  zendeskRequestId = (await deliveredRequest('zendesk', '35436', zendeskRef)).id;
  const demoRequest = await deliveredRequest('demo', 'pending', demoRef);
  const demo = new DemoTicketing(ticketDb(store.db));
  demoTicketId = (
    await demo.createTicket(demoRequest.draft, { idempotencyKey: demoRequest.id, tenant: 'default' })
  ).externalId;
  await ticketDb(store.db)
    .updateTable('ticket_requests')
    .set({ external_id: demoTicketId })
    .where('id', '=', demoRequest.id)
    .execute();
  open = await server();
  guarded = await server(ADMIN_TOKEN);
});

afterAll(async () => {
  await open?.close();
  await guarded?.close();
  await bus?.close();
  await store?.close();
  await database.drop();
});

beforeEach(() => {
  published.length = 0;
});

describe('Zendesk webhook', () => {
  it('publishes a signed public reply as a handoff event on the customer conversation', async () => {
    const response = await open.inject(zendeskPost(zendeskReply()));
    expect(response.statusCode).toBe(202);
    const [event] = await nextEvents(1);
    expect(event).toMatchObject({
      kind: 'handoff',
      ref: zendeskRef,
      sender: { id: 'agent:235324', name: 'Mia Chen' },
      text: 'Your parcel left our warehouse today.',
      locale: 'zh-CN',
      handoff: {
        change: 'reply',
        adapter: 'zendesk',
        ticketId: '35436',
        text: 'Your parcel left our warehouse today.',
        agentName: 'Mia Chen',
      },
    });
    expect(event?.id).toMatch(/^helpdesk:zendesk:35436:reply:[0-9a-f]{24}$/);
    expect(response.json()).toEqual({ status: 'accepted', eventId: event?.id });
    expect(event?.raw).toBeUndefined();
  });

  it('gives the same change the same id, so a replayed delivery is a duplicate', async () => {
    const body = zendeskReply('Replay me');
    const first = await open.inject(zendeskPost(body));
    // A later delivery of the same trigger run (new timestamp, new signature, same body).
    const again = await open.inject(
      zendeskPost(body, { timestamp: new Date(Date.now() + 1_000).toISOString() }),
    );
    expect(first.statusCode).toBe(202);
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual({ status: 'duplicate', eventId: first.json().eventId });
    expect(await nextEvents(1)).toHaveLength(1);
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(published).toHaveLength(0);
  });

  it('answers 503 while the bus cannot take the update, and accepts the helpdesk resending it', async () => {
    const body = zendeskReply('Sent while the bus was down');
    busDown = true;
    const refused = await open.inject(zendeskPost(body)).finally(() => {
      busDown = false;
    });
    expect(refused.statusCode).toBe(503);
    expect(refused.json()).toMatchObject({ error: { code: 'ingress.unavailable' } });
    expect(published).toHaveLength(0);
    const resent = await open.inject(zendeskPost(body));
    expect(resent.statusCode).toBe(202);
    expect(await nextEvents(1)).toHaveLength(1);
  });

  it('refuses a forged signature, a wrong secret and a missing header with 401', async () => {
    const forged = zendeskPost(zendeskReply());
    forged.payload = forged.payload.replace('warehouse', 'w4rehouse');
    const wrongSecret = zendeskPost(zendeskReply(), { secret: 'another-secret-0123456789' });
    const unsigned = zendeskPost(zendeskReply());
    delete (unsigned.headers as Record<string, string>)['x-zendesk-webhook-signature'];
    for (const request of [forged, wrongSecret, unsigned]) {
      const response = await open.inject(request);
      expect(response.statusCode).toBe(401);
    }
    expect(published).toHaveLength(0);
  });

  it('refuses a timestamp older than five minutes even with a valid signature', async () => {
    const old = new Date(Date.now() - 6 * 60_000).toISOString();
    const response = await open.inject(zendeskPost(zendeskReply('stale'), { timestamp: old }));
    expect(response.statusCode).toBe(401);
    expect(response.json().error.code).toBe('helpdesk.stale');
    const future = new Date(Date.now() + 6 * 60_000).toISOString();
    expect((await open.inject(zendeskPost(zendeskReply('future'), { timestamp: future }))).statusCode).toBe(
      401,
    );
  });

  it('never sends an internal note to the customer', async () => {
    const note = zendeskReply('Internal: customer is a known fraud risk');
    note.comment.public = false;
    const response = await open.inject(zendeskPost(note));
    expect(response.statusCode).toBe(202);
    expect(response.json()).toEqual({ status: 'ignored', reason: 'internal_note' });
    const stringly = zendeskPost({ ...note, comment: { ...note.comment, public: 'false' } });
    expect((await open.inject(stringly)).json().reason).toBe('internal_note');
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(published).toHaveLength(0);
  });

  it('maps assignment and solved/closed status changes', async () => {
    const assigned = await open.inject(
      zendeskPost({ ...zendeskReply(), event: 'assigned', comment: undefined }),
    );
    expect(assigned.statusCode).toBe(202);
    const status = (value: string) =>
      open.inject(
        zendeskPost({
          event: 'status',
          ticket: { id: 35436, status: value, updated_at: `2026-11-02T11:00:0${value.length}Z` },
        }),
      );
    expect((await status('pending')).json()).toEqual({ status: 'ignored', reason: 'status_pending' });
    expect((await status('solved')).statusCode).toBe(202);
    expect((await status('closed')).statusCode).toBe(202);
    const events = await nextEvents(3);
    expect(events.map((e) => e.handoff?.change)).toEqual(['assigned', 'solved', 'closed']);
    expect(events[0]?.sender).toEqual({ id: 'agent:235324', name: 'Mia Chen' });
    expect(events.every((e) => e.ref.conversation === '42' && e.text === undefined)).toBe(true);
    expect(events[1]?.id).toBe('helpdesk:zendesk:35436:solved:2026-11-02T11:00:06Z');
  });

  it('answers 400 to malformed JSON and to a body without the documented fields, without crashing', async () => {
    const broken = await open.inject(zendeskPost(undefined, { raw: '{"event": "reply", "ticket": {' }));
    expect(broken.statusCode).toBe(400);
    const shapeless = await open.inject(zendeskPost({ event: 'reply' }));
    expect(shapeless.statusCode).toBe(400);
    expect(shapeless.json().error.message).toMatch(/ticket/);
    const wrongEvent = await open.inject(zendeskPost({ ...zendeskReply(), event: 'deleted' }));
    expect(wrongEvent.statusCode).toBe(400);
    expect((await open.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
  });

  it('acks and drops an update for a ticket the hub did not open', async () => {
    const body = zendeskReply();
    body.ticket.id = '99999';
    body.ticket.external_id = 'HUB-NOTOURS1';
    const response = await open.inject(zendeskPost(body));
    expect(response.statusCode).toBe(202);
    expect(response.json()).toEqual({ status: 'ignored', reason: 'unknown_ticket' });
    // The hub reference of another ticket does not let a request reach that conversation.
    body.ticket.external_id = zendeskRequestId;
    expect((await open.inject(zendeskPost(body))).json().reason).toBe('unknown_ticket');
  });

  it('counts what became of each update on /metrics', async () => {
    const metrics = (await open.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toMatch(/hub_helpdesk_updates_total\{source="zendesk",outcome="accepted"\} \d+/);
    expect(metrics).toMatch(/hub_helpdesk_updates_total\{source="zendesk",outcome="stale"\} [1-9]/);
    expect(metrics).toMatch(/hub_helpdesk_updates_total\{source="zendesk",outcome="unknown_ticket"\} [1-9]/);
  });
});

describe('generic webhook (X-Hub-Signature-256)', () => {
  const rtReply = {
    event: 'reply',
    id: 'txn-981',
    adapter: 'zendesk',
    ticket: { id: '35436' },
    comment: { public: true, body: 'Refund approved.', author: { name: 'RT agent' } },
  };

  it('accepts a correctly signed update and uses the helpdesk id for dedupe', async () => {
    const response = await open.inject(genericPost(rtReply));
    expect(response.statusCode).toBe(202);
    const [event] = await nextEvents(1);
    expect(event?.id).toBe('helpdesk:zendesk:35436:reply:txn-981');
    expect(event?.sender).toEqual({ id: 'agent:RT agent', name: 'RT agent' });
    expect((await open.inject(genericPost(rtReply))).json().status).toBe('duplicate');
  });

  it('refuses a bad signature, a stale timestamp and a non-numeric one', async () => {
    const tampered = genericPost(rtReply);
    tampered.payload = tampered.payload.replace('approved', 'denied');
    expect((await open.inject(tampered)).statusCode).toBe(401);
    const stale = genericPost(rtReply, { timestamp: String(Math.floor(Date.now() / 1000) - 301) });
    expect((await open.inject(stale)).json().error.code).toBe('helpdesk.stale');
    const iso = genericPost(rtReply, { timestamp: new Date().toISOString() });
    expect((await open.inject(iso)).statusCode).toBe(401);
  });

  it('defaults the adapter to the configured driver', async () => {
    const response = await open.inject(genericPost({ ...rtReply, adapter: undefined, id: 'txn-982' }));
    // The driver is demo, and demo ticket 35436 does not exist.
    expect(response.json()).toEqual({ status: 'ignored', reason: 'unknown_ticket' });
  });
});

describe('agent console of the embedded helpdesk', () => {
  const post = (app: FastifyInstance, path: string, body: unknown, headers: Record<string, string> = {}) =>
    app.inject({
      method: 'POST',
      url: path,
      headers: { 'content-type': 'application/json', ...headers },
      payload: JSON.stringify(body),
    });

  it('sends /agent to the console workspace, where the agents work now', async () => {
    const page = await open.inject({ method: 'GET', url: '/agent' });
    expect(page.statusCode).toBe(302);
    expect(page.headers.location).toBe('/console/workspace');
  });

  it('without HUB_ADMIN_TOKEN answers loopback clients only', async () => {
    const local = await open.inject({ method: 'GET', url: '/admin/tickets' });
    expect(local.statusCode).toBe(200);
    const remote = await open.inject({ method: 'GET', url: '/admin/tickets', remoteAddress: '10.1.2.3' });
    expect(remote.statusCode).toBe(403);
    expect(remote.json().error.message).toMatch(/HUB_ADMIN_TOKEN/);
    // A DNS-rebound page reaches 127.0.0.1 under a foreign host name.
    const rebound = await open.inject({
      method: 'GET',
      url: '/admin/tickets',
      headers: { host: 'evil.example:3000' },
    });
    expect(rebound.statusCode).toBe(403);
  });

  it('with HUB_ADMIN_TOKEN wants the bearer token, from loopback too', async () => {
    expect((await guarded.inject({ method: 'GET', url: '/admin/tickets' })).statusCode).toBe(401);
    const wrong = await guarded.inject({
      method: 'GET',
      url: '/admin/tickets',
      headers: { authorization: 'Bearer nope' },
    });
    expect(wrong.statusCode).toBe(401);
    const right = await guarded.inject({
      method: 'GET',
      url: '/admin/tickets',
      remoteAddress: '10.1.2.3',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(right.statusCode).toBe(200);
    const ticket = right.json().tickets.find((t: { id: string }) => t.id === demoTicketId);
    expect(ticket).toMatchObject({ status: 'new', channel: 'webchat' });
    expect(ticket.transcript[0].text).toMatch(/parcel/);
    const action = await post(guarded, `/admin/tickets/${demoTicketId}/assign`, { agent: 'Bo' });
    expect(action.statusCode).toBe(401);
  });

  it('reads HUB_ADMIN_TOKEN per request: setting it closes the loopback door without a restart', async () => {
    process.env.HUB_ADMIN_TOKEN = 'rotated-token-0123456789';
    try {
      expect((await open.inject({ method: 'GET', url: '/admin/tickets' })).statusCode).toBe(401);
      const withToken = await open.inject({
        method: 'GET',
        url: '/admin/tickets',
        headers: { authorization: 'Bearer rotated-token-0123456789' },
      });
      expect(withToken.statusCode).toBe(200);
    } finally {
      delete process.env.HUB_ADMIN_TOKEN;
    }
  });

  it('refuses non-JSON writes (what a cross-site form could send)', async () => {
    const form = await open.inject({
      method: 'POST',
      url: `/admin/tickets/${demoTicketId}/solve`,
      headers: { 'content-type': 'text/plain' },
      payload: '{}',
    });
    expect(form.statusCode).toBe(415);
    const bare = await open.inject({ method: 'POST', url: `/admin/tickets/${demoTicketId}/solve` });
    expect(bare.statusCode).toBe(415);
  });

  it('take, reply, note-free solve: each writes the desk and publishes one event', async () => {
    const taken = await post(open, `/admin/tickets/${demoTicketId}/assign`, { agent: 'Bo Li' });
    expect(taken.statusCode).toBe(200);
    expect(taken.json().ticket).toMatchObject({ status: 'open', assignee: 'Bo Li' });

    const replied = await post(
      guarded,
      `/admin/tickets/${demoTicketId}/reply`,
      {
        agent: 'Bo Li',
        text: 'I have asked the carrier; you will hear from me today.',
      },
      { authorization: `Bearer ${ADMIN_TOKEN}` },
    );
    expect(replied.statusCode).toBe(200);
    const comments = replied.json().ticket.comments;
    expect(comments.at(-1)).toMatchObject({ public: true, author: 'agent' });

    const solved = await post(open, `/admin/tickets/${demoTicketId}/solve`, { agent: 'Bo Li' });
    expect(solved.statusCode).toBe(200);
    expect(solved.json().ticket.status).toBe('solved');
    const again = await post(open, `/admin/tickets/${demoTicketId}/solve`, { agent: 'Bo Li' });
    expect(again.json().status).toBe('unchanged');

    const events = await nextEvents(3);
    expect(events.map((e) => e.handoff?.change)).toEqual(['assigned', 'reply', 'solved']);
    for (const event of events) {
      expect(event.ref).toEqual(demoRef);
      expect(event.id).toMatch(new RegExp(`^helpdesk:demo:${demoTicketId}:(assigned|reply|solved):\\d+$`));
      expect(event.sender).toEqual({ id: 'agent:demo:Bo Li', name: 'Bo Li' });
    }
    expect(events[1]?.text).toBe('I have asked the carrier; you will hear from me today.');
    expect(events[1]?.id).toBe(`helpdesk:demo:${demoTicketId}:reply:${comments.at(-1).id}`);
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(published).toHaveLength(0);
  });

  it('rejects a reply without text, an unknown ticket or action, and anything on a closed ticket', async () => {
    expect((await post(open, `/admin/tickets/${demoTicketId}/reply`, { agent: 'Bo' })).statusCode).toBe(400);
    expect((await post(open, '/admin/tickets/987654/assign', {})).statusCode).toBe(404);
    expect((await post(open, '/admin/tickets/abc/assign', {})).statusCode).toBe(404);
    expect((await post(open, `/admin/tickets/${demoTicketId}/delete`, {})).statusCode).toBe(404);
    expect((await post(open, `/admin/tickets/${demoTicketId}/close`, {})).statusCode).toBe(200);
    await nextEvents(1);
    const late = await post(open, `/admin/tickets/${demoTicketId}/reply`, { text: 'hello?' });
    expect(late.statusCode).toBe(409);
  });

  it('refuses, and writes nothing for, a ticket with no conversation behind it', async () => {
    const demo = new DemoTicketing(ticketDb(store.db));
    const { externalId } = await demo.createTicket(draft(), {
      idempotencyKey: 'HUB-ORPHAN01',
      tenant: 'default',
    });
    const response = await post(open, `/admin/tickets/${externalId}/reply`, { text: 'anyone?' });
    expect(response.statusCode).toBe(404);
    expect(response.json().error.code).toBe('desk.no_conversation');
    const comments = await ticketDb(store.db)
      .selectFrom('demo_ticket_comments')
      .select('text')
      .where('ticket_id', '=', externalId)
      .execute();
    expect(comments.map((c) => c.text)).not.toContain('anyone?');
  });

  it('puts every console action on the audit trail, chained', async () => {
    const trail = await store.auditTrail({ subject: `ticket:demo:${demoTicketId}` });
    const actions = trail.map((record) => `${record.action} ${record.details.ticketStatus}`).reverse();
    expect(actions).toEqual([
      'operator.ticket.take open',
      'operator.ticket.reply open',
      'operator.ticket.solve solved',
      'operator.ticket.solve solved',
      'operator.ticket.close closed',
    ]);
    for (const record of trail) {
      expect(record).toMatchObject({ actor: 'admin-token', tenant: 'default' });
      // The conversation key can name the customer: the trail keeps its keyed hash.
      expect(record.details.conversation).toMatch(/^h1\./);
      expect(JSON.stringify(record)).not.toContain('c-demo');
    }
    expect(trail.map((record) => record.details.outcome).reverse()).toEqual([
      'accepted',
      'accepted',
      'accepted',
      'unchanged',
      'accepted',
    ]);
    expect(trail.at(-1)?.details.agent).toBe('Bo Li');
    expect(await store.auditLog.verify()).toMatchObject({ ok: true });
  });
});
