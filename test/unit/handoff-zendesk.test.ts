import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { helpdesks } from '../../adapters/ticketing';
import { signZendesk, ZendeskTicketing } from '../../adapters/ticketing/zendesk';
import { hubConfigSchema } from '../../core/config/schema';
import { handoffEventId, interpret, registerHelpdeskWebhooks } from '../../core/handoff';
import { helpdeskPayloadSchema } from '../../core/handoff/payload';
import { buildServer } from '../../core/http/server';
import { logger } from '../../core/log';
import { createStore, type KyselyStore } from '../../core/store';
import { TicketOutbox } from '../../core/tickets/outbox';
import { TicketDeliveryWorker } from '../../core/tickets/worker';
import type { InboundEvent } from '../../core/types';
import { startZendeskEmulator, type ZendeskEmulator } from '../emulators/zendesk-emulator';
import { scratchDatabase } from '../support/postgres';
import { draft } from '../support/ticket-draft';

/**
 * The Zendesk half of the loop with the real adapter: a ticket delivered by the outbox worker to
 * the Zendesk emulator, an agent's reply there, and the README's trigger body rendered from that
 * ticket as Zendesk would, signed and posted to the hub. Then the payload rules on their own.
 */
const database = scratchDatabase('hub_handoff_zd');
const SECRET = 'zendesk-signing-secret-0123456789';
const config = hubConfigSchema.parse({
  database: { driver: 'postgres', url: database.url },
  ticketing: {
    driver: 'zendesk',
    // The adapter below is pointed at the emulator; the webhook receiver needs only the secret.
    zendesk: { baseUrl: 'http://127.0.0.1:9', email: 'bot@example.com', apiToken: 'zd-token' },
    webhooks: { zendeskSecret: SECRET },
  },
});

/** The ```json block of the README's "Handoff to a human" section: what an admin pastes into Zendesk. */
function readmeTemplate(): string {
  const readme = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('### Handoff to a human'));
  const block = /```json\n([\s\S]*?)\n```/.exec(section)?.[1];
  if (!block) throw new Error('README has no JSON trigger body under "Handoff to a human"');
  return block;
}

/** Liquid placeholders filled in, values JSON-escaped as inside a JSON string. */
function render(template: string, values: Record<string, string>): string {
  return template.replace(/\{\{\s*([\w.]+)\s*\}\}/g, (_, name: string) => {
    if (!(name in values)) throw new Error(`the test has no value for {{${name}}}`);
    return JSON.stringify(values[name]).slice(1, -1);
  });
}

let store: KyselyStore;
let zendesk: ZendeskEmulator;
let app: FastifyInstance;
const published: InboundEvent[] = [];

beforeAll(async () => {
  await database.create();
  store = await createStore(config);
  zendesk = await startZendeskEmulator({ email: 'bot@example.com', apiToken: 'zd-token' });
  app = await buildServer({ config, connectors: [], readiness: [] });
  await registerHelpdeskWebhooks(
    app,
    {
      config,
      store,
      accept: async (event) => {
        const repeat = published.some((e) => e.id === event.id);
        if (!repeat) published.push(event);
        return { accepted: !repeat };
      },
      logger,
    },
    helpdesks.descriptors,
  );
  await app.ready();
});

afterAll(async () => {
  await app?.close();
  await zendesk?.close();
  await store?.close();
  await database.drop();
});

describe('Zendesk round trip', () => {
  it("maps a reply on a ticket the outbox delivered back to the ticket's conversation", async () => {
    const ref = { channel: 'slack-acme', tenant: 'T0001', conversation: 'D0042', thread: '1730.0001' };
    const outbox = new TicketOutbox(store.db);
    const { request } = await outbox.enqueue({
      dedupeKey: 'zendesk-round-trip',
      conversationKey: 'slack-acme:T0001:D0042:1730.0001',
      tenant: 'T0001',
      adapter: 'zendesk',
      draft: draft({ conversation: ref }),
    });
    const adapter = new ZendeskTicketing({
      baseUrl: zendesk.url,
      email: 'bot@example.com',
      apiToken: 'zd-token',
      timeoutMs: 5_000,
    });
    const worker = new TicketDeliveryWorker({
      outbox,
      adapters: { zendesk: adapter },
      config: config.ticketing,
    });
    expect(await worker.runOnce()).toBe(1);
    const ticket = zendesk.tickets.find((t) => t.external_id === request.id);
    expect(ticket).toBeDefined();
    zendesk.agentReply(ticket?.id ?? 0, 'We found it: "parcel" re-sent,\nsee you soon.');

    const comment = ticket?.comments.at(-1);
    const body = render(readmeTemplate(), {
      'ticket.id': String(ticket?.id),
      'ticket.external_id': ticket?.external_id ?? '',
      'ticket.status': ticket?.status ?? '',
      'ticket.updated_at_with_timestamp': comment?.created_at ?? '',
      'ticket.assignee.id': '2',
      'ticket.assignee.name': 'Mia Chen',
      'ticket.latest_public_comment': comment?.body ?? '',
      'current_user.name': 'Mia Chen',
    });
    const timestamp = new Date().toISOString();
    const response = await app.inject({
      method: 'POST',
      url: '/webhooks/helpdesk/zendesk',
      headers: {
        'content-type': 'application/json',
        'x-zendesk-webhook-signature-timestamp': timestamp,
        'x-zendesk-webhook-signature': signZendesk(SECRET, timestamp, body),
      },
      payload: body,
    });
    expect(response.statusCode).toBe(202);
    expect(published).toHaveLength(1);
    expect(published[0]).toMatchObject({
      kind: 'handoff',
      ref,
      text: 'We found it: "parcel" re-sent,\nsee you soon.',
      sender: { name: 'Mia Chen' },
      handoff: { change: 'reply', adapter: 'zendesk', ticketId: String(ticket?.id), agentName: 'Mia Chen' },
      channelData: { helpdesk: { source: 'zendesk', requestId: request.id } },
    });
  });
});

describe('payload rules', () => {
  const parse = (body: unknown) => helpdeskPayloadSchema.parse(body);
  const reply = (comment: Record<string, unknown>) =>
    parse({ event: 'comment', ticket: { id: 7 }, comment: { public: true, body: 'hi', ...comment } });

  it('drops what must not reach the customer', () => {
    expect(interpret(reply({ public: false }), 'rt')).toEqual({ ignored: 'internal_note' });
    expect(interpret(reply({ author: { role: 'end-user' } }), 'rt')).toEqual({ ignored: 'customer_comment' });
    expect(interpret(reply({ body: '   ' }), 'rt')).toEqual({ ignored: 'empty_comment' });
    expect(
      interpret(parse({ event: 'assigned', ticket: { id: 7, assignee: { id: '', name: '' } } }), 'rt'),
    ).toEqual({
      ignored: 'no_assignee',
    });
    expect(interpret(parse({ event: 'status', ticket: { id: 7, status: 'hold' } }), 'rt')).toEqual({
      ignored: 'status_hold',
    });
  });

  it('derives a stable id from the change when the helpdesk gives none, and differs when the change does', () => {
    const a = interpret(reply({ created_at: '2026-11-02T10:00:00Z' }), 'rt');
    const b = interpret(reply({ created_at: '2026-11-02T10:00:00Z' }), 'rt');
    const later = interpret(reply({ created_at: '2026-11-02T10:05:00Z' }), 'rt');
    expect('eventId' in a && 'eventId' in b && a.eventId === b.eventId).toBe(true);
    expect('eventId' in a && 'eventId' in later && a.eventId !== later.eventId).toBe(true);
    const given = interpret(reply({ id: 991 }), 'rt');
    expect('eventId' in given && given.eventId).toBe('helpdesk:rt:7:reply:991');
  });

  it('hashes keys that are long or carry odd characters', () => {
    expect(handoffEventId('rt', '7', 'reply', 'x'.repeat(81))).toMatch(/^helpdesk:rt:7:reply:[0-9a-f]{24}$/);
    expect(handoffEventId('rt', '7', 'reply', 'a b/c')).toMatch(/^helpdesk:rt:7:reply:[0-9a-f]{24}$/);
    expect(handoffEventId('rt', '7', 'solved', '2026-11-02T10:00:00Z')).toBe(
      'helpdesk:rt:7:solved:2026-11-02T10:00:00Z',
    );
  });
});
