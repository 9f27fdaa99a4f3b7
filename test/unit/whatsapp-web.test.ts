import { EventEmitter } from 'node:events';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { channelRegistry } from '../../connectors/registry';
import { inboundIgnored } from '../../connectors/shared/metrics';
import type { WebClient, WebClientSettings, WebMessage } from '../../connectors/whatsapp-web/client';
import {
  createWhatsAppWebConnector,
  type WhatsAppWebConnector,
} from '../../connectors/whatsapp-web/connector';
import { whatsappWebSession } from '../../connectors/whatsapp-web/metrics';
import { parseVCard } from '../../connectors/whatsapp-web/normalize';
import { findChannel } from '../../core/channels/descriptor';
import type { ChannelContext } from '../../core/channels/types';
import { logger } from '../../core/log';
import { MemoryDeliveryLedger, MemoryRateLimiter, OutboundScheduler } from '../../core/outbound';
import type { InboundEvent, OutboundMessage } from '../../core/types';
import { until } from '../e2e/channel-helpers';
import { channelContext, counterValue } from '../support/channel-context';

/** Quacks like whatsapp-web.js's Client without a browser: the test emits its events. */
class FakeClient extends EventEmitter implements WebClient {
  initialized = 0;
  destroyed = 0;
  readonly sent: Array<{ chatId: string; content: string }> = [];
  readonly typing: string[] = [];
  readonly stored = new Map<string, WebMessage>();
  info = { wid: { _serialized: '15550001111@c.us' } };
  failSends = 0;

  async initialize() {
    this.initialized++;
  }
  async destroy() {
    this.destroyed++;
  }
  async sendMessage(chatId: string, content: string) {
    if (this.failSends > 0) {
      this.failSends--;
      throw new Error('Evaluation failed: page closed');
    }
    this.sent.push({ chatId, content });
    return { id: { _serialized: `true_${chatId}_OUT${this.sent.length}` } };
  }
  async getChatById(chatId: string) {
    return { sendStateTyping: async () => void this.typing.push(chatId) };
  }
  async getMessageById(id: string) {
    return this.stored.get(id);
  }
}

const clients: FakeClient[] = [];
const settings: WebClientSettings[] = [];
const factory = async (s: WebClientSettings) => {
  settings.push(s);
  const client = new FakeClient();
  clients.push(client);
  return client;
};
const current = () => clients.at(-1) as FakeClient;

const published: InboundEvent[] = [];
let app: FastifyInstance;
let connector: WhatsAppWebConnector;

function context(extra: Record<string, unknown> = {}): ChannelContext {
  return channelContext(
    {
      id: 'wweb',
      type: 'whatsapp-web',
      tenant: 'acme',
      sessionDir: '/tmp/hub-wweb-test-session',
      reconnect: { minMs: 20, maxMs: 100 },
      ...extra,
    },
    {
      published,
      outbound: new OutboundScheduler({
        limiter: new MemoryRateLimiter(),
        ledger: new MemoryDeliveryLedger(),
        policy: {
          maxAttempts: 3,
          baseDelayMs: 10,
          maxDelayMs: 20,
          maxWaitMs: 5_000,
          idempotencyTtlMs: 60_000,
        },
        logger,
      }),
    },
  );
}

const message = (overrides: Omit<Partial<WebMessage>, 'id'> & { id: string }): WebMessage => ({
  from: '15550002222@c.us',
  to: '15550001111@c.us',
  fromMe: false,
  body: '',
  type: 'chat',
  timestamp: Math.floor(Date.now() / 1000),
  ...overrides,
  id: { _serialized: `false_${overrides.from ?? '15550002222@c.us'}_${overrides.id}`, fromMe: false },
});

const reply = (id: string, chat: string, content: OutboundMessage['content']): OutboundMessage => ({
  id,
  ref: { channel: 'wweb', tenant: 'acme', conversation: chat },
  content,
  createdAt: new Date().toISOString(),
});

const count = (event: string) => counterValue(whatsappWebSession, { channel: 'wweb', event });

beforeAll(async () => {
  connector = createWhatsAppWebConnector(context(), { createClient: factory });
  app = Fastify();
  await connector.register(app);
  await app.ready();
  await until('the client', () => clients.length === 1 && current().initialized === 1);
});

afterAll(async () => {
  await app?.close();
  await connector?.close?.();
});

describe('whatsapp-web connector', () => {
  it('starts the client with the session folder and Chromium path, and is not ready yet', async () => {
    expect(settings[0]).toMatchObject({
      channel: 'wweb',
      sessionDir: '/tmp/hub-wweb-test-session',
      executablePath: '/usr/bin/chromium',
      headless: true,
    });
    await expect(connector.health?.()).rejects.toThrow(/waiting for pairing/);
  });

  it('shows the QR code on the admin endpoint, to this machine only', async () => {
    current().emit('qr', '2@FAKEqrPAYLOAD,abc=,def=');
    const local = await app.inject({ url: '/admin/channels/wweb/qr', remoteAddress: '127.0.0.1' });
    expect(local.statusCode).toBe(200);
    expect(local.json()).toMatchObject({ channel: 'wweb', state: 'qr', qr: '2@FAKEqrPAYLOAD,abc=,def=' });
    const remote = await app.inject({ url: '/admin/channels/wweb/qr', remoteAddress: '203.0.113.9' });
    expect(remote.statusCode).toBe(403);
    expect(remote.body).not.toContain('FAKEqrPAYLOAD');
    expect(remote.json().error.message).toMatch(/HUB_ADMIN_TOKEN/);
    // A page whose DNS name was re-bound to 127.0.0.1 arrives under its own Host name.
    const rebound = await app.inject({
      url: '/admin/channels/wweb/qr',
      remoteAddress: '127.0.0.1',
      headers: { host: 'evil.example' },
    });
    expect(rebound.statusCode).toBe(403);
  });

  it('becomes healthy when ready, and the QR code is gone', async () => {
    current().emit('authenticated');
    current().emit('ready');
    await expect(connector.health?.()).resolves.toBeUndefined();
    const state = (await app.inject({ url: '/admin/channels/wweb/qr', remoteAddress: '::1' })).json();
    expect(state.state).toBe('ready');
    expect(state.qr).toBeUndefined();
  });

  it('publishes direct text with the verified phone, and ignores its own messages', async () => {
    current().emit('message', message({ id: 'A1', body: 'Hello 你好', _data: { notifyName: 'Ann' } }));
    current().emit('message', { ...message({ id: 'A2', body: 'mine' }), fromMe: true });
    current().emit('message', message({ id: 'A3', from: 'status@broadcast', body: 'story' }));
    await until('the event', () => published.length >= 1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(published).toHaveLength(1);
    expect(published[0]).toMatchObject({
      id: 'wweb:false_15550002222@c.us_A1',
      kind: 'message',
      text: 'Hello 你好',
      sender: { id: '15550002222@c.us', name: 'Ann' },
      ref: { channel: 'wweb', tenant: 'acme', conversation: '15550002222@c.us' },
      addressedToBot: true,
      channelData: { verified: { phone: '+15550002222' } },
    });
  });

  it('normalizes groups with mentions, media, locations and vCards', async () => {
    const before = published.length;
    const ignoredBefore = await counterValue(inboundIgnored, { channel: 'wweb', reason: 'unsupported_type' });
    const group = '120363000000000001@g.us';
    current().emit(
      'message',
      message({
        id: 'G1',
        from: group,
        author: '15550003333@c.us',
        body: '@15550001111 where is my order?',
        mentionedIds: ['15550001111@c.us'],
      }),
    );
    current().emit(
      'message',
      message({ id: 'G2', from: group, author: '15550003333@c.us', body: 'chatting' }),
    );
    current().emit(
      'message',
      message({
        id: 'M1',
        type: 'image',
        body: 'the box',
        hasMedia: true,
        _data: { mimetype: 'image/jpeg', size: 1234 },
      }),
    );
    current().emit(
      'message',
      message({
        id: 'L1',
        type: 'location',
        location: { latitude: '39.9', longitude: '116.4', description: 'Tiananmen' },
      }),
    );
    current().emit(
      'message',
      message({
        id: 'V1',
        type: 'vcard',
        body: 'BEGIN:VCARD\nVERSION:3.0\nFN:Rachel Green\nitem1.TEL;waid=15550005555:+1 777-777-7777\nEND:VCARD',
      }),
    );
    current().emit('message', message({ id: 'R1', type: 'revoked' }));
    await until('five events', () => published.length >= before + 5);
    const [mention, chatter, image, place, card] = published.slice(before);
    expect(mention).toMatchObject({
      ref: { conversation: group },
      sender: { id: '15550003333@c.us' },
      addressedToBot: true,
      mentions: [{ id: '15550001111@c.us', isBot: true }],
      channelData: { whatsappWeb: { chatType: 'group' } },
    });
    expect(chatter?.addressedToBot).toBe(false);
    expect(image).toMatchObject({
      text: 'the box',
      attachments: [
        { kind: 'image', fileId: 'false_15550002222@c.us_M1', mimeType: 'image/jpeg', sizeBytes: 1234 },
      ],
    });
    expect(place?.attachments).toEqual([
      { kind: 'location', location: { latitude: 39.9, longitude: 116.4, name: 'Tiananmen' } },
    ]);
    expect(card?.attachments).toEqual([
      { kind: 'contacts', contacts: [{ name: 'Rachel Green', phones: ['+1 777-777-7777'] }] },
    ]);
    const ignoredAfter = await counterValue(inboundIgnored, { channel: 'wweb', reason: 'unsupported_type' });
    expect(ignoredAfter).toBe(ignoredBefore + 1);
  });

  it('downloads media through the message', async () => {
    current().stored.set('false_15550002222@c.us_M1', {
      ...message({ id: 'M1', type: 'image', hasMedia: true }),
      downloadMedia: async () => ({ mimetype: 'image/jpeg', data: Buffer.from('JPEG').toString('base64') }),
    });
    const media = await connector.fetchFile?.({ fileId: 'false_15550002222@c.us_M1' });
    expect(media?.body.toString()).toBe('JPEG');
    await expect(connector.fetchFile?.({ fileId: 'nope' })).rejects.toThrow(/no media/i);
  });

  it('replies through sendMessage once per message, as WhatsApp text, retrying a failed send', async () => {
    const chat = '15550002222@c.us';
    current().failSends = 1;
    await connector.deliver?.(
      reply('r1', chat, { type: 'text', format: 'markdown', text: '**Done**, see *below*' }),
    );
    await connector.deliver?.(
      reply('r1', chat, { type: 'text', format: 'markdown', text: '**Done**, see *below*' }),
    );
    await connector.deliver?.(
      reply('r2', chat, {
        type: 'choices',
        text: 'Pick',
        choices: [
          { id: 'a', title: 'Alpha' },
          { id: 'b', title: 'Beta' },
        ],
      }),
    );
    await connector.deliver?.(reply('r3', chat, { type: 'typing' }));
    expect(current().sent.map((s) => s.content)).toEqual(['*Done*, see _below_', 'Pick\n1. Alpha\n2. Beta']);
    expect(current().typing).toEqual([chat]);
  });

  it('on disconnect: unhealthy, counted, and reconnected with a fresh client', async () => {
    const before = await count('disconnected');
    const first = current();
    first.emit('disconnected', 'NAVIGATION');
    await expect(connector.health?.()).rejects.toThrow(/disconnected: NAVIGATION/);
    expect(await count('disconnected')).toBe(before + 1);
    await until('a new client', () => clients.length === 2 && current().initialized === 1);
    expect(first.destroyed).toBe(1);
    // Nothing can be sent meanwhile: the turn is handed back to the bus to try later.
    await expect(
      connector.deliver?.(reply('r4', '15550002222@c.us', { type: 'text', text: 'x' })),
    ).rejects.toThrow(/not connected/);
    current().emit('ready');
    await expect(connector.health?.()).resolves.toBeUndefined();
  });

  it('on auth_failure and logout: unhealthy, logged, re-paired after backoff', async () => {
    const failures = await count('auth_failure');
    current().emit('auth_failure', 'session invalid');
    await expect(connector.health?.()).rejects.toThrow(/authentication failed/);
    expect(await count('auth_failure')).toBe(failures + 1);
    await until('a third client', () => clients.length === 3);
    current().emit('qr', '2@SECONDqr');
    await expect(connector.health?.()).rejects.toThrow(/scan the QR code/);
    current().emit('ready');
    const logouts = await count('logout');
    current().emit('disconnected', 'LOGOUT');
    await expect(connector.health?.()).rejects.toThrow(/logged out/);
    expect(await count('logout')).toBe(logouts + 1);
    await until('a fourth client', () => clients.length === 4);
  });

  it('keeps the QR endpoint behind HUB_ADMIN_TOKEN when it is set, and refuses a per-channel adminToken', async () => {
    expect(() =>
      createWhatsAppWebConnector(context({ id: 'wweb-old', adminToken: 'FAKE_admin_token_0123456789' }), {
        createClient: factory,
      }),
    ).toThrow(/adminToken: is no longer a channel option.*Fix: remove adminToken and export HUB_ADMIN_TOKEN/);
    const guarded = createWhatsAppWebConnector(context({ id: 'wweb2' }), { createClient: factory });
    const other = Fastify();
    await guarded.register(other);
    process.env.HUB_ADMIN_TOKEN = 'FAKE_admin_token_0123456789';
    try {
      const local = await other.inject({ url: '/admin/channels/wweb2/qr', remoteAddress: '127.0.0.1' });
      expect(local.statusCode).toBe(401);
      const withToken = await other.inject({
        url: '/admin/channels/wweb2/qr',
        remoteAddress: '203.0.113.9',
        headers: { authorization: 'Bearer FAKE_admin_token_0123456789' },
      });
      expect(withToken.statusCode).toBe(200);
    } finally {
      delete process.env.HUB_ADMIN_TOKEN;
    }
    await other.close();
    await guarded.close?.();
  });

  it('is registered under its type name and parses vCards', () => {
    expect(findChannel(channelRegistry, 'whatsapp-web')?.create).toBeTypeOf('function');
    expect(parseVCard('BEGIN:VCARD\nFN:Monica\nTEL;type=HOME:+1 666\nTEL:+1 667\nEND:VCARD')).toEqual({
      name: 'Monica',
      phones: ['+1 666', '+1 667'],
    });
  });
});
