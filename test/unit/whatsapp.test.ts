import { randomBytes } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { inboundIgnored } from '../../connectors/shared/metrics';
import { whatsappChannel } from '../../connectors/whatsapp';
import { createGraphClient } from '../../connectors/whatsapp/graph';
import { markdownToWhatsApp } from '../../connectors/whatsapp/markdown';
import { whatsappOutsideWindow, whatsappStatuses } from '../../connectors/whatsapp/metrics';
import { renderWhatsApp } from '../../connectors/whatsapp/render';
import { createWhatsAppSender } from '../../connectors/whatsapp/sender';
import { signWhatsApp, verifyWhatsAppSignature } from '../../connectors/whatsapp/verify';
import { ServiceWindowStore } from '../../connectors/whatsapp/window';
import type { ChannelContext, Connector } from '../../core/channels/types';
import { logger } from '../../core/log';
import {
  MemoryDeliveryLedger,
  MemoryRateLimiter,
  OutboundScheduler,
  RedisDeliveryLedger,
  RedisRateLimiter,
} from '../../core/outbound';
import { MemoryKeyValueStore, RedisKeyValueStore } from '../../core/storage';
import type { InboundEvent, KeyValueStore, OutboundContent, OutboundMessage } from '../../core/types';
import { WhatsAppEmulator } from '../emulators/whatsapp-emulator';
import { channelContext, counterValue } from '../support/channel-context';

const TOKEN = 'EAAFAKEwhatsappAccessToken0000000000';
const APP_SECRET = 'FAKE_meta_app_secret_00000000000';
const VERIFY_TOKEN = 'FAKE_verify_token_0001';
const PHONE_ID = '100000000000001';
const TEMPLATE = { name: 'reopen_conversation', language: 'en_US' };

let graph: WhatsAppEmulator;

function webhook(messages: Array<Record<string, unknown>>, statuses: Array<Record<string, unknown>> = []) {
  return {
    object: 'whatsapp_business_account',
    entry: [
      {
        id: '100000000000002',
        changes: [
          {
            field: 'messages',
            value: {
              messaging_product: 'whatsapp',
              metadata: { display_phone_number: '15550001111', phone_number_id: PHONE_ID },
              contacts: [{ profile: { name: 'Ann' }, wa_id: '15550002222' }],
              ...(messages.length ? { messages } : {}),
              ...(statuses.length ? { statuses } : {}),
            },
          },
        ],
      },
    ],
  };
}

const nowSeconds = () => String(Math.floor(Date.now() / 1000));
const text = (id: string, from: string, body: string, timestamp = nowSeconds()) => ({
  from,
  id,
  timestamp,
  type: 'text',
  text: { body },
});

function scheduler(kind: 'memory' | { redis: Redis; prefix: string } = 'memory') {
  return new OutboundScheduler({
    limiter: kind === 'memory' ? new MemoryRateLimiter() : new RedisRateLimiter(kind.redis, kind.prefix),
    ledger: kind === 'memory' ? new MemoryDeliveryLedger() : new RedisDeliveryLedger(kind.redis, kind.prefix),
    policy: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 50, maxWaitMs: 5_000, idempotencyTtlMs: 60_000 },
    logger,
  });
}

function makeContext(
  published: InboundEvent[],
  extra: Record<string, unknown> = {},
  hub: Record<string, unknown> = {},
  outbound = scheduler(),
  storage?: KeyValueStore,
): ChannelContext {
  return channelContext(
    {
      id: 'wa',
      type: 'whatsapp',
      tenant: 'acme',
      phoneNumberId: PHONE_ID,
      accessToken: TOKEN,
      appSecret: APP_SECRET,
      verifyToken: VERIFY_TOKEN,
      graphApiUrl: graph.url,
      template: TEMPLATE,
      ...extra,
    },
    { published, hub, outbound, storage },
  );
}

const reply = (
  id: string,
  customer: string,
  content: OutboundContent,
  inReplyTo?: string,
): OutboundMessage => ({
  id,
  ref: { channel: 'wa', tenant: 'acme', conversation: customer },
  content,
  createdAt: new Date().toISOString(),
  ...(inReplyTo ? { inReplyTo } : {}),
});

beforeAll(async () => {
  graph = await new WhatsAppEmulator({
    accessToken: TOKEN,
    phoneNumberId: PHONE_ID,
    templates: [`${TEMPLATE.name}:${TEMPLATE.language}`],
  }).start();
});

afterAll(async () => {
  await graph?.stop();
});

describe('WhatsApp webhook', () => {
  let app: FastifyInstance;
  let connector: Connector;
  const published: InboundEvent[] = [];

  beforeAll(async () => {
    connector = whatsappChannel.create(makeContext(published)) as Connector;
    app = Fastify();
    await connector.register(app);
    await app.ready();
  });
  afterAll(async () => {
    await app.close();
    await connector.close?.();
  });

  const post = (payload: unknown, signature?: string | null, contentType = 'application/json') => {
    const body = typeof payload === 'string' ? payload : JSON.stringify(payload);
    const header = signature === undefined ? signWhatsApp(APP_SECRET, body) : signature;
    return app.inject({
      method: 'POST',
      url: '/webhooks/wa',
      headers: { 'content-type': contentType, ...(header === null ? {} : { 'x-hub-signature-256': header }) },
      payload: body,
    });
  };

  it('answers the verification handshake only with the right verify token', async () => {
    const ok = await app.inject({
      url: `/webhooks/wa?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=${VERIFY_TOKEN}`,
    });
    expect(ok.statusCode).toBe(200);
    expect(ok.headers['content-type']).toMatch(/^text\/plain/);
    expect(ok.body).toBe('1158201444');
    for (const query of [
      'hub.mode=subscribe&hub.challenge=1&hub.verify_token=FAKE_verify_token_0002',
      'hub.mode=unsubscribe&hub.challenge=1&hub.verify_token=FAKE_verify_token_0001',
      'hub.mode=subscribe&hub.challenge=1',
    ]) {
      const refused = await app.inject({ url: `/webhooks/wa?${query}` });
      expect(refused.statusCode, query).toBe(403);
      expect(refused.body).not.toContain('"1"');
    }
  });

  it('publishes a signed text message with the verified phone, keyed by its wamid', async () => {
    const response = await post(webhook([text('wamid.UNIT_1', '15550002222', 'Hello 你好 😀')]));
    expect(response.statusCode).toBe(200);
    expect(published.at(-1)).toMatchObject({
      id: 'wa:wamid.UNIT_1',
      kind: 'message',
      text: 'Hello 你好 😀',
      platformMessageId: 'wamid.UNIT_1',
      sender: { id: '15550002222', name: 'Ann' },
      ref: { channel: 'wa', tenant: 'acme', conversation: '15550002222' },
      addressedToBot: true,
      channelData: { verified: { phone: '+15550002222' } },
    });
  });

  it('refuses forged, missing and re-serialized signatures with 401 and publishes nothing', async () => {
    const before = published.length;
    const body = JSON.stringify(webhook([text('wamid.FORGED', '15550009999', 'forged')]), null, 2);
    const compact = JSON.stringify(JSON.parse(body));
    for (const signature of [
      null,
      '',
      signWhatsApp('another_app_secret_000000', body),
      signWhatsApp(APP_SECRET, body).replace('sha256=', 'sha1='),
      signWhatsApp(APP_SECRET, compact),
      `sha256=${'0'.repeat(64)}`,
      'sha256=zz',
    ]) {
      expect((await post(body, signature)).statusCode, String(signature)).toBe(401);
    }
    expect(published.length).toBe(before);
  });

  it('drops a redelivered notification and splits a batch into one event per message', async () => {
    const before = published.length;
    const batch = webhook([
      text('wamid.UNIT_B1', '15550002222', 'first'),
      text('wamid.UNIT_B2', '15550002222', 'second'),
    ]);
    expect((await post(batch)).statusCode).toBe(200);
    expect((await post(batch)).statusCode).toBe(200);
    expect(published.slice(before).map((e) => e.text)).toEqual(['first', 'second']);
  });

  it('counts delivery receipts and ignores unknown message types with a metric', async () => {
    const before = published.length;
    const failedBefore = await counterValue(whatsappStatuses, { channel: 'wa', status: 'failed' });
    const unknownBefore = await counterValue(inboundIgnored, { channel: 'wa', reason: 'unsupported_type' });
    const receipts = webhook(
      [{ from: '15550002222', id: 'wamid.UNIT_ORDER', timestamp: nowSeconds(), type: 'order', order: {} }],
      [
        { id: 'wamid.OUT_1', status: 'delivered', recipient_id: '15550002222' },
        { id: 'wamid.OUT_2', status: 'failed', errors: [{ code: 131026, title: 'Message undeliverable' }] },
      ],
    );
    expect((await post(receipts)).statusCode).toBe(200);
    expect(published.length).toBe(before);
    expect(await counterValue(whatsappStatuses, { channel: 'wa', status: 'failed' })).toBe(failedBefore + 1);
    expect(await counterValue(inboundIgnored, { channel: 'wa', reason: 'unsupported_type' })).toBe(
      unknownBefore + 1,
    );
  });

  it('normalizes replies, reactions, list replies and template buttons', async () => {
    await post(
      webhook([
        {
          ...text('wamid.UNIT_CTX', '15550002222', 'about that'),
          context: { from: '15550001111', id: 'wamid.OUT_9' },
        },
        {
          from: '15550002222',
          id: 'wamid.UNIT_LIST',
          type: 'interactive',
          interactive: { type: 'list_reply', list_reply: { id: 'opt_2', title: 'Second', description: 'x' } },
        },
        {
          from: '15550002222',
          id: 'wamid.UNIT_BTN',
          type: 'button',
          button: { payload: 'STOP', text: 'Stop promotions' },
        },
        {
          from: '15550002222',
          id: 'wamid.UNIT_REACT',
          type: 'reaction',
          reaction: { message_id: 'wamid.OUT_9', emoji: '👍' },
        },
        {
          from: '15550002222',
          id: 'wamid.UNIT_VIDEO',
          type: 'video',
          video: { id: '900000000000010', mime_type: 'video/mp4', caption: 'look' },
        },
      ]),
    );
    const byId = (id: string) => published.find((e) => e.platformMessageId === id);
    expect(byId('wamid.UNIT_CTX')).toMatchObject({ kind: 'message', replyToMessageId: 'wamid.OUT_9' });
    expect(byId('wamid.UNIT_LIST')).toMatchObject({
      kind: 'action',
      action: { id: 'opt_2', title: 'Second' },
    });
    expect(byId('wamid.UNIT_BTN')).toMatchObject({
      kind: 'action',
      action: { id: 'STOP', title: 'Stop promotions' },
    });
    expect(byId('wamid.UNIT_REACT')).toMatchObject({
      kind: 'reaction',
      reaction: { name: '👍', messageId: 'wamid.OUT_9', added: true },
    });
    expect(byId('wamid.UNIT_VIDEO')).toMatchObject({
      text: 'look',
      attachments: [{ kind: 'video', fileId: '900000000000010', mimeType: 'video/mp4' }],
    });
  });

  it('answers malformed JSON with 400, other content types with 415, other numbers are ignored', async () => {
    expect((await post('{"object": ')).statusCode).toBe(400);
    expect((await post('hello', undefined, 'text/plain')).statusCode).toBe(415);
    const before = published.length;
    const other = webhook([text('wamid.OTHER_NUMBER', '15550002222', 'hi')]);
    (other.entry[0]?.changes[0]?.value.metadata as { phone_number_id: string }).phone_number_id = '999999999';
    expect((await post(other)).statusCode).toBe(200);
    expect(published.length).toBe(before);
  });

  it('downloads inbound media through the Graph media endpoint with the token', async () => {
    graph.addMedia('900000000000004', Buffer.from('JPEGDATA'), 'image/jpeg');
    const media = await connector.fetchFile?.({ fileId: '900000000000004' });
    expect(media?.body.toString()).toBe('JPEGDATA');
    expect(media?.mimeType).toBe('image/jpeg');
    await expect(connector.fetchFile?.({ fileId: '900000000000404' })).rejects.toThrow(/#100/);
  });

  it('is healthy with a working token and says why not with a wrong one', async () => {
    await expect(connector.health?.()).resolves.toBeUndefined();
    const broken = whatsappChannel.create(makeContext([], { accessToken: 'EAAFAKEwrongToken000000000000' }));
    await expect(broken?.health?.()).rejects.toThrow(/401 \(#190\)/);
  });

  it('fails fast with a fix when a credential is missing', () => {
    expect(() => whatsappChannel.create(makeContext([], { appSecret: undefined }))).toThrow(
      /appSecret: .*WA_APP_SECRET/,
    );
  });
});

describe('WhatsApp replies', () => {
  let app: FastifyInstance;
  let connector: Connector;
  const published: InboundEvent[] = [];
  let sequence = 0;

  beforeAll(async () => {
    connector = whatsappChannel.create(makeContext(published)) as Connector;
    app = Fastify();
    await connector.register(app);
    await app.ready();
  });
  afterAll(async () => {
    await app.close();
    await connector.close?.();
  });

  /** The customer writes (opening the window at `timestamp`); returns their wa_id. */
  async function customerWrites(customer: string, timestamp = nowSeconds()) {
    const body = JSON.stringify(webhook([text(`wamid.IN_${++sequence}`, customer, 'hi', timestamp)]));
    const response = await app.inject({
      method: 'POST',
      url: '/webhooks/wa',
      headers: { 'content-type': 'application/json', 'x-hub-signature-256': signWhatsApp(APP_SECRET, body) },
      payload: body,
    });
    expect(response.statusCode).toBe(200);
    return `wa:wamid.IN_${sequence}`;
  }

  it('sends markdown as WhatsApp formatting and splits long texts', async () => {
    await customerWrites('15550003001');
    await connector.deliver?.(
      reply('r1', '15550003001', { type: 'text', format: 'markdown', text: '**Bold** and *it*' }),
    );
    const long = `${'word '.repeat(1000)}\n\n${'more '.repeat(200)}<<END>>`;
    await connector.deliver?.(reply('r2', '15550003001', { type: 'text', text: long }));
    const sent = graph.sentTo('15550003001');
    expect(sent[0]?.payload.text).toEqual({ body: '*Bold* and _it_', preview_url: false });
    const parts = sent.slice(1).map((m) => (m.payload.text as { body: string }).body);
    expect(parts.length).toBe(2);
    expect(parts.join('').replace(/\s+/g, '')).toBe(long.replace(/\s+/g, ''));
  });

  it('renders choices as buttons, a list, or numbered text as they fit', async () => {
    const customer = '15550003002';
    await customerWrites(customer);
    const choices = (n: number, title = (i: number) => `Option ${i}`) =>
      Array.from({ length: n }, (_, i) => ({ id: `o${i}`, title: title(i) }));
    await connector.deliver?.(reply('c1', customer, { type: 'choices', text: 'Pick', choices: choices(3) }));
    await connector.deliver?.(reply('c2', customer, { type: 'choices', text: 'Pick', choices: choices(7) }));
    await connector.deliver?.(reply('c3', customer, { type: 'choices', text: 'Pick', choices: choices(12) }));
    await connector.deliver?.(
      reply('c4', customer, {
        type: 'choices',
        text: 'Pick',
        choices: choices(2, () => 'A title far longer than twenty-four'),
      }),
    );
    const [buttons, list, numbered, longTitles] = graph.sentTo(customer);
    expect(buttons?.payload.interactive).toMatchObject({ type: 'button', body: { text: 'Pick' } });
    expect(list?.payload.interactive).toMatchObject({ type: 'list' });
    expect(numbered?.type).toBe('text');
    expect((numbered?.payload.text as { body: string } | undefined)?.body).toContain('12. Option 11');
    expect(longTitles?.type).toBe('text');
  });

  it('shows the typing indicator on the message being answered', async () => {
    const customer = '15550003003';
    const inbound = await customerWrites(customer);
    await connector.deliver?.(reply('t1', customer, { type: 'typing' }, inbound));
    expect(graph.typing.at(-1)?.messageId).toBe(inbound.slice('wa:'.length));
  });

  it('posts once when the turn is redelivered', async () => {
    const customer = '15550003004';
    await customerWrites(customer);
    await connector.deliver?.(reply('once', customer, { type: 'text', text: 'only once' }));
    await connector.deliver?.(reply('once', customer, { type: 'text', text: 'only once' }));
    expect(graph.sentTo(customer)).toHaveLength(1);
  });

  it('waits out a 429 (130429) with Retry-After and retries a 5xx, losing nothing', async () => {
    const customer = '15550003005';
    await customerWrites(customer);
    graph.failNextSend({ status: 429, code: 130429, retryAfterSeconds: 1 });
    graph.failNextSend({ status: 500, code: 131000 });
    const started = Date.now();
    await connector.deliver?.(reply('rl', customer, { type: 'text', text: 'after the wait' }));
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(graph.sentTo(customer)).toHaveLength(1);
    const attempts = graph.calls.filter((c) => (c.body as { to?: string } | undefined)?.to === customer);
    expect(attempts.map((c) => c.status)).toEqual([429, 500, 200]);
  });

  it('does not retry a refused token (190)', async () => {
    const senders = createWhatsAppSender({
      channel: 'wa',
      phoneNumberId: PHONE_ID,
      client: createGraphClient({
        graphApiUrl: graph.url,
        apiVersion: 'v23.0',
        accessToken: 'EAAFAKEwrongToken000000000000',
        phoneNumberId: PHONE_ID,
      }),
      window: new ServiceWindowStore(new MemoryKeyValueStore()),
      logger,
    });
    const before = graph.calls.length;
    const report = await scheduler().deliver(
      reply('bad-token', '15550003006', { type: 'text', text: 'x' }),
      senders.freeForm,
    );
    expect(report).toMatchObject({ sent: 0, failed: 1 });
    expect(graph.calls.slice(before).map((c) => c.status)).toEqual([401]);
  });

  it('sends the template once outside the 24-hour window, and free text again once the customer writes', async () => {
    const customer = '15550003007';
    const dayAgo = String(Math.floor(Date.now() / 1000) - 25 * 3600);
    await customerWrites(customer, dayAgo);
    const sentBefore = await counterValue(whatsappOutsideWindow, { channel: 'wa', outcome: 'template_sent' });
    await connector.deliver?.(reply('w1', customer, { type: 'text', text: 'late answer' }));
    await connector.deliver?.(reply('w2', customer, { type: 'text', text: 'second late answer' }));
    await connector.deliver?.(reply('w3', customer, { type: 'typing' }));
    expect(graph.sentTo(customer).map((m) => m.type)).toEqual(['template']);
    expect(graph.sentTo(customer)[0]?.payload.template).toEqual({
      name: TEMPLATE.name,
      language: { code: TEMPLATE.language },
    });
    expect(await counterValue(whatsappOutsideWindow, { channel: 'wa', outcome: 'template_sent' })).toBe(
      sentBefore + 1,
    );
    await customerWrites(customer);
    await connector.deliver?.(reply('w4', customer, { type: 'text', text: 'back in the window' }));
    expect(graph.sentTo(customer).map((m) => m.type)).toEqual(['template', 'text']);
  });

  it('sends nothing outside the window when no template is configured', async () => {
    const bare = whatsappChannel.create(makeContext([], { template: undefined })) as Connector;
    await bare.deliver?.(reply('nt', '15550003008', { type: 'text', text: 'nobody hears this' }));
    expect(graph.sentTo('15550003008')).toHaveLength(0);
    expect(
      await counterValue(whatsappOutsideWindow, { channel: 'wa', outcome: 'no_template' }),
    ).toBeGreaterThanOrEqual(1);
    await bare.close?.();
  });

  it('falls back to the template when the platform says the window closed (131047)', async () => {
    const customer = '15550003009';
    await customerWrites(customer);
    graph.failNextSend({ status: 400, code: 131047, message: '(#131047) Re-engagement message' });
    await connector.deliver?.(reply('rw', customer, { type: 'text', text: 'too late after all' }));
    expect(graph.sentTo(customer).map((m) => m.type)).toEqual(['template']);
  });
});

describe('WhatsApp window across processes (Redis)', () => {
  const prefix = `hub-wa-unit-${randomBytes(4).toString('hex')}`;
  let redis: Redis;

  beforeEach(() => {
    graph.sent.splice(0);
  });
  beforeAll(() => {
    redis = new Redis(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379');
  });
  afterAll(async () => {
    for await (const keys of redis.scanStream({ match: `${prefix}:*`, count: 500 })) {
      if ((keys as string[]).length) await redis.del(...(keys as string[]));
    }
    await redis.quit();
  });

  it('a worker-only connector sees the window the webhook process opened', async () => {
    const hub = {
      bus: { driver: 'bullmq' },
      state: { driver: 'redis' },
      redis: { url: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379', keyPrefix: prefix },
    };
    const shared = { redis, prefix };
    // The hub's storage on Redis, as app/channels.ts chooses it for this config and scopes it per channel.
    const storage = new RedisKeyValueStore(redis, prefix).namespace('whatsapp:wa');
    const api = whatsappChannel.create(makeContext([], {}, hub, scheduler(shared), storage)) as Connector;
    const worker = whatsappChannel.create(makeContext([], {}, hub, scheduler(shared), storage)) as Connector;
    const app = Fastify();
    await api.register(app);
    const body = JSON.stringify(webhook([text('wamid.REDIS_1', '15550004001', 'hi')]));
    await app.inject({
      method: 'POST',
      url: '/webhooks/wa',
      headers: { 'content-type': 'application/json', 'x-hub-signature-256': signWhatsApp(APP_SECRET, body) },
      payload: body,
    });
    await worker.deliver?.(reply('x1', '15550004001', { type: 'text', text: 'from the worker' }));
    // Never written to: outside the window for the worker too.
    await worker.deliver?.(reply('x2', '15550004002', { type: 'text', text: 'nobody wrote' }));
    expect(graph.sent.map((m) => [m.to, m.type])).toEqual([
      ['15550004001', 'text'],
      ['15550004002', 'template'],
    ]);
    await app.close();
    await api.close?.();
    await worker.close?.();
  });
});

describe('WhatsApp rendering and signatures', () => {
  it('turns markdown into WhatsApp formatting', () => {
    expect(
      markdownToWhatsApp(
        '## Refunds\n**Bold**, *italic*, ~~gone~~, `a*b*c`, [docs](https://x.example/a_b)\n* item',
      ),
    ).toBe('*Refunds*\n*Bold*, _italic_, ~gone~, `a*b*c`, docs (https://x.example/a_b)\n- item');
  });

  it('renders a card with buttons as an interactive message with an image header', () => {
    const [call] = renderWhatsApp(
      reply('k', '15550002222', {
        type: 'card',
        title: 'Order A-1',
        subtitle: 'shipped',
        imageUrl: 'https://example.com/a.png',
        buttons: [{ id: 'track', title: 'Track' }],
      }),
    );
    expect(call?.payload.interactive).toMatchObject({
      type: 'button',
      header: { type: 'image', image: { link: 'https://example.com/a.png' } },
      body: { text: '*Order A-1*\n_shipped_' },
    });
  });

  it('checks the signature over the raw bytes only', () => {
    const body = Buffer.from('{"a":"\\u00e9"}');
    const signature = signWhatsApp(APP_SECRET, body);
    expect(verifyWhatsAppSignature(APP_SECRET, signature, body)).toBe(true);
    expect(verifyWhatsAppSignature(APP_SECRET, signature, Buffer.from('{"a":"é"}'))).toBe(false);
    expect(
      verifyWhatsAppSignature(APP_SECRET, signature.toUpperCase().replace('SHA256', 'sha256'), body),
    ).toBe(true);
    expect(verifyWhatsAppSignature(APP_SECRET, undefined, body)).toBe(false);
  });
});
