import Fastify, { type FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTelegramConnector } from '../../connectors/telegram/connector';
import { REJECTED_BODY_CHARS, RejectedWebhookStore } from '../../core/channels/rejected-webhooks';
import type { ChannelContext } from '../../core/channels/types';
import { hubConfigSchema } from '../../core/config/schema';
import { installDepthLimitedJsonParser } from '../../core/http/json-body';
import { registerRejectedWebhooksRoute } from '../../core/http/rejected-webhooks-route';
import { errors, webhookRejected, webhookRequests } from '../../core/metrics';
import { createStore, type KyselyStore } from '../../core/store';
import { TicketCommentOutbox } from '../../core/tickets/comment-outbox';
import { TicketOutbox } from '../../core/tickets/outbox';
import { TicketService } from '../../core/tickets/service';
import type { InboundEvent } from '../../core/types';
import { channelContext, counterValue, recordingIngress } from '../support/channel-context';
import { draft } from '../support/ticket-draft';

/**
 * Bad input never becomes a 5xx or a lost message: the rejected-webhook store and its admin route,
 * a signed webhook that cannot be read (acknowledged, counted, kept), one nested too deep (400,
 * kept), and a ticket comment that cannot be queued (the turn goes on) — on the embedded database.
 */
let store: KyselyStore;

beforeAll(async () => {
  store = await createStore(hubConfigSchema.parse({ database: { driver: 'pglite', dataDir: 'memory://' } }));
}, 60_000);

afterAll(async () => {
  await store?.close();
});

describe("the server's JSON parser", () => {
  it('answers a body nested deeper than the limit with 400 before parsing, whatever the charset; keeps poisoning refused', async () => {
    const app = Fastify({ bodyLimit: 64 * 1024 });
    installDepthLimitedJsonParser(app, 16);
    app.post('/echo', async (request) => request.body);
    const post = (payload: string, type = 'application/json') =>
      app.inject({ method: 'POST', url: '/echo', headers: { 'content-type': type }, payload });
    const deep = `{"a":${'['.repeat(17)}${']'.repeat(17)}}`;
    expect((await post(deep)).statusCode).toBe(400);
    expect((await post(deep, 'application/json; charset=utf-8')).json()).toMatchObject({
      code: 'request.json_too_deep',
    });
    expect(
      (await post(`{"a":${'['.repeat(15)}${']'.repeat(15)}}`, 'application/json; charset=utf-8')).statusCode,
    ).toBe(200);
    expect((await post('{"__proto__": {"admin": true}}')).statusCode).toBe(400);
    expect((await post('x'.repeat(70 * 1024))).statusCode).toBe(413);
    await app.close();
  });
});

describe('rejected-webhook store', () => {
  it('keeps the body cut to 8 KiB and cleaned, the newest rows only, newest first', async () => {
    const rejected = new RejectedWebhookStore(store.db, 3);
    await rejected.record({
      channel: 'tg',
      reason: 'telegram.malformed_update',
      body: Buffer.from('{"a":"\u0000x"}'),
    });
    const huge = `{"text":"${'好'.repeat(REJECTED_BODY_CHARS)}"}`;
    await rejected.record({ channel: 'sl', reason: 'request.json_too_deep', body: huge });
    const [newest, first] = await rejected.list();
    expect(newest).toMatchObject({ channel: 'sl', reason: 'request.json_too_deep', truncated: true });
    expect(newest?.body).toHaveLength(REJECTED_BODY_CHARS);
    expect(newest?.bodyBytes).toBe(Buffer.byteLength(huge));
    expect(first).toMatchObject({ channel: 'tg', body: '{"a":"x"}', truncated: false, bodyBytes: 10 });
    for (let i = 0; i < 5; i++) await rejected.record({ channel: 'wa', reason: `r${i}`, body: '{}' });
    const kept = await rejected.list();
    expect(kept.map((row) => row.reason)).toEqual(['r4', 'r3', 'r2']);
    expect(await rejected.list({ channel: 'tg' })).toEqual([]);
    const { rows } = await sql<{ n: string }>`select count(*) as n from rejected_webhooks`.execute(store.db);
    expect(Number(rows[0]?.n)).toBe(3);
  });

  it('is listed for operators at GET /admin/webhooks/rejected', async () => {
    const rejected = new RejectedWebhookStore(store.db);
    await rejected.record({ channel: 'tm', reason: 'teams.malformed_update', body: '{"type":"message"}' });
    const app = Fastify();
    registerRejectedWebhooksRoute(app, rejected);
    const listed = await app.inject({ method: 'GET', url: '/admin/webhooks/rejected?channel=tm&limit=5' });
    expect(listed.statusCode).toBe(200);
    expect(listed.json()).toEqual([
      expect.objectContaining({ channel: 'tm', reason: 'teams.malformed_update' }),
    ]);
    expect((await app.inject({ method: 'GET', url: '/admin/webhooks/rejected?limit=0' })).statusCode).toBe(
      400,
    );
    // Not from this machine and no token: refused like every admin route.
    const remote = await app.inject({
      method: 'GET',
      url: '/admin/webhooks/rejected',
      remoteAddress: '10.0.0.9',
    });
    expect(remote.statusCode).toBe(403);
    await app.close();
  });
});

describe('a signed Telegram webhook the connector cannot read', () => {
  const SECRET = 'FAKE_tg_secret_token-0123456789_abc';
  const published: InboundEvent[] = [];
  const kept: Array<{ channel: string; reason: string; body: string }> = [];
  const bus = { on: false };
  let app: FastifyInstance;

  beforeAll(async () => {
    const ctx: ChannelContext = {
      ...channelContext(
        {
          id: 'tg-safe',
          type: 'telegram',
          botToken: '7000000001:FAKE_support_token_0123456789',
          secretToken: SECRET,
          botUsername: 'FakeHubBot',
        },
        { hub: { server: { maxJsonDepth: 32 } } },
      ),
      accept: recordingIngress(published, bus),
      rejected: {
        record: async (entry) => {
          kept.push({ ...entry, body: entry.body.toString() });
        },
      },
    };
    app = Fastify();
    await createTelegramConnector(ctx).register(app);
    await app.ready();
  });

  afterAll(async () => {
    await app?.close();
  });

  const post = (body: string) =>
    app.inject({
      method: 'POST',
      url: '/webhooks/tg-safe',
      headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': SECRET },
      payload: body,
    });

  it('acknowledges it (200, so Telegram stops resending), counts it and keeps it', async () => {
    const before = await counterValue(webhookRejected, { channel: 'tg-safe' });
    const outcome = await counterValue(webhookRequests, { channel: 'tg-safe', outcome: 'rejected' });
    // A button press without `from`: the connector cannot tell who pressed it.
    const body = JSON.stringify({
      update_id: 7,
      callback_query: { id: 'q', data: 'x', message: { message_id: 1, chat: { id: 5 } } },
    });
    const response = await post(body);
    expect(response.statusCode).toBe(200);
    expect(published).toEqual([]);
    expect(
      await counterValue(webhookRejected, { channel: 'tg-safe', reason: 'telegram.malformed_update' }),
    ).toBe(before + 1);
    expect(await counterValue(webhookRequests, { channel: 'tg-safe', outcome: 'rejected' })).toBe(
      outcome + 1,
    );
    expect(kept.at(-1)).toEqual({ channel: 'tg-safe', reason: 'telegram.malformed_update', body });
  });

  it('answers a body nested deeper than server.maxJsonDepth with 400, before parsing it, and keeps it', async () => {
    const deep = `{"update_id":1,"message":${'['.repeat(10_000)}${']'.repeat(10_000)}}`;
    const response = await post(deep);
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual({
      error: { code: 'request.json_too_deep', message: 'JSON nests deeper than 32 levels' },
    });
    expect(kept.at(-1)?.reason).toBe('request.json_too_deep');
  });

  it('still answers 503 while the bus is down, so the update is sent again', async () => {
    bus.on = true;
    try {
      const update = {
        update_id: 8,
        message: { message_id: 2, chat: { id: 5, type: 'private' }, from: { id: 5 }, text: 'hi' },
      };
      expect((await post(JSON.stringify(update))).statusCode).toBe(503);
    } finally {
      bus.on = false;
    }
  });

  it('publishes a message with NUL and control characters cleaned, raw payload included', async () => {
    const update = {
      update_id: 9,
      message: {
        message_id: 3,
        chat: { id: 5, type: 'private' },
        from: { id: 5, first_name: 'A\u0000nn' },
        text: '订单\u0000 A123\u0007 😀',
      },
    };
    expect((await post(JSON.stringify(update))).statusCode).toBe(200);
    const event = published.at(-1);
    expect(event?.text).toBe('订单 A123 😀');
    expect(event?.sender.name).toBe('Ann');
    expect(JSON.stringify(event?.raw)).not.toContain('\\u0000');
  });
});

describe('a ticket comment on an open ticket', () => {
  const event = (id: string, text: string): InboundEvent => ({
    id,
    kind: 'message',
    ref: { channel: 'webchat', tenant: 'default', conversation: 'c1' },
    sender: { id: 'u1' },
    receivedAt: new Date().toISOString(),
    text,
  });

  async function openTicket() {
    const { request } = await new TicketOutbox(store.db).enqueue({
      dedupeKey: `k-${Math.random()}`,
      conversationKey: 'webchat:default:c1',
      tenant: 'default',
      adapter: 'demo',
      draft: draft(),
    });
    return request;
  }

  it('with a NUL in the words is queued without it (PostgreSQL refuses NUL in text)', async () => {
    const comments = new TicketCommentOutbox(store.db);
    const service = new TicketService({ outbox: new TicketOutbox(store.db), comments, adapter: 'demo' });
    const request = await openTicket();
    expect(await service.addCustomerMessage(request.id, event('nul-1', 'Any news\u0000 on it?'))).toBe(true);
    const { rows } = await sql<{
      body: string;
    }>`select body from ticket_comments where event_id = 'nul-1'`.execute(store.db);
    expect(rows[0]?.body).toMatch(/^hub1\./);
    expect(
      store.atRest.open(rows[0]?.body ?? '', { table: 'ticket_comments', column: 'body', row: 'nul-1' }),
    ).toBe('Any news on it?');
  });

  it('that cannot be queued is logged and counted, and the turn goes on; an outage still waits', async () => {
    const refused = Object.assign(new Error('invalid byte sequence for encoding "UTF8": 0x00'), {
      code: '22021',
    });
    const comments = { enqueue: async () => Promise.reject(refused) } as unknown as TicketCommentOutbox;
    const service = new TicketService({ outbox: new TicketOutbox(store.db), comments, adapter: 'demo' });
    const before = await counterValue(errors, { stage: 'ticket_comment', code: '22021' });
    expect(await service.addCustomerMessage('HUB-ANY00000', event('bad-1', 'words'))).toBe(false);
    expect(await counterValue(errors, { stage: 'ticket_comment', code: '22021' })).toBe(before + 1);
    // The database is unreachable: the bus holds the event (no attempt spent) and runs the turn again.
    const down = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    const unreachable = { enqueue: async () => Promise.reject(down) } as unknown as TicketCommentOutbox;
    const waiting = new TicketService({
      outbox: new TicketOutbox(store.db),
      comments: unreachable,
      adapter: 'demo',
    });
    await expect(waiting.addCustomerMessage('HUB-ANY00000', event('bad-2', 'words'))).rejects.toBe(down);
  });
});
