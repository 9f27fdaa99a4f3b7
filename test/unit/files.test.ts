import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCapped } from '../../connectors/shared/download';
import { createSlackConnector } from '../../connectors/slack/connector';
import { createTelegramConnector } from '../../connectors/telegram/connector';
import { createWhatsAppConnector } from '../../connectors/whatsapp/connector';
import type { WebClient, WebMessage } from '../../connectors/whatsapp-web/client';
import { createWhatsAppWebConnector } from '../../connectors/whatsapp-web/connector';
import type { ChannelContext, Connector } from '../../core/channels/types';
import { hubConfigSchema } from '../../core/config/schema';
import { buildServer } from '../../core/http/server';
import { logger } from '../../core/log';
import { MemoryKeyValueStore } from '../../core/storage';
import type { HubStore } from '../../core/types';
import { SlackEmulator } from '../emulators/slack-emulator';
import { TelegramEmulator } from '../emulators/telegram-emulator';
import { WhatsAppEmulator } from '../emulators/whatsapp-emulator';

const TG_TOKEN = '7000000042:FAKE_files_token_0000000';
const SLACK_TOKEN = 'xoxb-0000000000-FAKEfilesbottoken';
const ADMIN = 'FAKE-admin-token-for-files-test-0001';
const WA_TOKEN = 'EAAFAKEfilesWhatsappToken000000000000';
const WA_PHONE = '100000000000077';
const WA_SECRET = 'FAKE_meta_app_secret_files_00000';

// A JPEG's first bytes, then filler: the route must hand back exactly these bytes.
const PHOTO = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(3000, 7)]);
const PNG = Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), Buffer.alloc(1500, 3)]);

let telegram: TelegramEmulator;
let slack: SlackEmulator;
let graph: WhatsAppEmulator;
let app: FastifyInstance;
const OGG = Buffer.concat([Buffer.from('OggS'), Buffer.alloc(2500, 5)]);

/** whatsapp-web.js's Client without Chromium: messages the phone "has" are put in `stored`. */
class FakeWebClient extends EventEmitter implements WebClient {
  readonly stored = new Map<string, WebMessage>();
  async initialize() {}
  async destroy() {}
  async sendMessage(): Promise<{ id: { _serialized: string } }> {
    throw new Error('not used here');
  }
  async getChatById(): Promise<{ sendStateTyping(): Promise<void> }> {
    throw new Error('not used here');
  }
  async getMessageById(id: string) {
    return this.stored.get(id);
  }
}
const web = new FakeWebClient();
let webDownloads = 0;
const webMessage = (id: string, size: number, data?: Buffer): WebMessage => ({
  id: { _serialized: id },
  from: '15550002222@c.us',
  fromMe: false,
  body: '',
  type: 'document',
  hasMedia: true,
  _data: { size },
  downloadMedia: async () => {
    webDownloads++;
    return data && { mimetype: 'application/pdf', data: data.toString('base64'), filename: 'invoice 7.pdf' };
  },
});
const hub = hubConfigSchema.parse({});

function context(config: Record<string, unknown>): ChannelContext {
  return {
    config: { enabled: true, tenant: 'acme', ...config } as ChannelContext['config'],
    hub,
    accept: async () => ({ accepted: true }),
    storage: new MemoryKeyValueStore(),
    feed: { publish: async () => {}, subscribe: async () => async () => {}, close: async () => {} },
    store: {} as HubStore,
    logger,
  };
}

const get = (path: string, token: string | null = ADMIN) =>
  app.inject({
    method: 'GET',
    url: path,
    headers: token === null ? {} : { authorization: `Bearer ${token}` },
  });

beforeAll(async () => {
  process.env.HUB_ADMIN_TOKEN = ADMIN;
  telegram = await new TelegramEmulator({ token: TG_TOKEN, botUsername: 'FilesBot' }).start();
  slack = await new SlackEmulator({ token: SLACK_TOKEN }).start();
  graph = await new WhatsAppEmulator({ accessToken: WA_TOKEN, phoneNumberId: WA_PHONE }).start();
  graph.addMedia('900000000000101', PHOTO, 'image/jpeg');
  graph.addMedia('900000000000102', OGG, 'audio/ogg; codecs=opus');
  graph.addMedia('900000000000103', Buffer.alloc(5000, 2), 'application/pdf');
  web.stored.set('false_15550002222@c.us_DOC1', webMessage('false_15550002222@c.us_DOC1', 3, PNG));
  web.stored.set('false_15550002222@c.us_BIG1', webMessage('false_15550002222@c.us_BIG1', 9000, PNG));
  web.stored.set('false_15550002222@c.us_GONE', webMessage('false_15550002222@c.us_GONE', 10));
  telegram.addFile('AgACAgIAAxkBAAIFakePhoto', PHOTO, { path: 'photos/file_7.jpg', mimeType: 'image/jpeg' });
  telegram.addFile('BQACAgIAAxkBAAIFakeBigDoc', Buffer.alloc(5000, 1), { path: 'documents/file_8.pdf' });
  slack.addFile({ id: 'F0FAKEPNG01', name: 'receipt photo.png', body: PNG });
  slack.addFile({
    id: 'F0FAKEBIG01',
    name: 'big.bin',
    mimetype: 'application/octet-stream',
    body: Buffer.alloc(5000),
  });
  const secretToken = 'FAKE_secret_token_files';
  const connectors: Connector[] = [
    createTelegramConnector(
      context({ id: 'tg', type: 'telegram', botToken: TG_TOKEN, secretToken, apiRoot: telegram.url }),
    ),
    createTelegramConnector(
      context({
        id: 'tg-small',
        type: 'telegram',
        botToken: TG_TOKEN,
        secretToken,
        apiRoot: telegram.url,
        maxFileBytes: 4000,
      }),
    ),
    createSlackConnector(
      context({
        id: 'slack',
        type: 'slack',
        botToken: SLACK_TOKEN,
        signingSecret: 'FAKE_slack_signing_secret_000000',
        apiUrl: slack.url,
        maxFileBytes: 4000,
      }),
    ),
    ...[
      ['wa', WA_TOKEN],
      ['wa-wrong-token', 'EAAFAKEfilesWhatsappWRONG00000000000'],
    ].map(([id, accessToken]) =>
      createWhatsAppConnector(
        context({
          id,
          type: 'whatsapp',
          phoneNumberId: WA_PHONE,
          accessToken,
          appSecret: WA_SECRET,
          verifyToken: 'FAKE_verify_files',
          graphApiUrl: graph.url,
          maxFileBytes: 4000,
        }),
      ),
    ),
    createWhatsAppWebConnector(
      context({
        id: 'wweb',
        type: 'whatsapp-web',
        sessionDir: '/tmp/hub-files-test-wweb',
        maxFileBytes: 4000,
      }),
      { createClient: async () => web },
    ),
  ];
  app = await buildServer({ config: hub, connectors, readiness: [] });
  await app.ready();
});

afterAll(async () => {
  await app?.close();
  await telegram?.stop();
  await slack?.stop();
  await graph?.stop();
  delete process.env.HUB_ADMIN_TOKEN;
});

describe('GET /admin/channels/<id>/files/<fileId>', () => {
  it("returns a Telegram photo's bytes (getFile, then the file server)", async () => {
    const response = await get('/admin/channels/tg/files/AgACAgIAAxkBAAIFakePhoto');
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('image/jpeg');
    expect(Buffer.compare(response.rawPayload, PHOTO)).toBe(0);
    expect(response.headers['content-disposition']).toContain('file_7.jpg');
    expect(telegram.callsOf('getFile').at(-1)?.params.file_id).toBe('AgACAgIAAxkBAAIFakePhoto');
    expect(telegram.downloads.at(-1)).toEqual({ path: 'photos/file_7.jpg', status: 200 });
  });

  it("returns a Slack file's bytes, downloaded with the bot token", async () => {
    const response = await get('/admin/channels/slack/files/F0FAKEPNG01');
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('image/png');
    expect(Buffer.compare(response.rawPayload, PNG)).toBe(0);
    expect(response.headers['content-disposition']).toBe('attachment; filename="receipt_photo.png"');
    expect(slack.downloads.at(-1)).toEqual({ fileId: 'F0FAKEPNG01', status: 200 });
  });

  it('refuses a file over the channel cap with 413 and says which key to raise', async () => {
    const downloadsBefore = telegram.downloads.length;
    const response = await get('/admin/channels/tg-small/files/BQACAgIAAxkBAAIFakeBigDoc');
    expect(response.statusCode).toBe(413);
    expect(response.json().error.message).toMatch(/5000 bytes.*maxFileBytes \(4000\)/);
    // The announced size stops it before the download.
    expect(telegram.downloads.length).toBe(downloadsBefore);
    const slackBig = await get('/admin/channels/slack/files/F0FAKEBIG01');
    expect(slackBig.statusCode).toBe(413);
    // Under the cap on another channel of the same bot it comes through.
    expect((await get('/admin/channels/tg/files/BQACAgIAAxkBAAIFakeBigDoc')).statusCode).toBe(200);
  });

  it('stops reading a download that passes the cap without announcing its size', async () => {
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.enqueue(new Uint8Array(1024));
      },
    });
    await expect(readCapped(new Response(stream), 'tg', 10_000)).rejects.toMatchObject({
      code: 'file.too_large',
      status: 413,
    });
    expect((await readCapped(new Response(PHOTO), 'tg', 10_000)).length).toBe(PHOTO.length);
  });

  it('answers 401 without the admin bearer token, or with a wrong one', async () => {
    const before = telegram.callsOf('getFile').length;
    const missing = await get('/admin/channels/tg/files/AgACAgIAAxkBAAIFakePhoto', null);
    expect(missing.statusCode).toBe(401);
    expect(missing.headers['www-authenticate']).toContain('Bearer');
    expect((await get('/admin/channels/tg/files/AgACAgIAAxkBAAIFakePhoto', `${ADMIN}x`)).statusCode).toBe(
      401,
    );
    expect((await get('/admin/channels/tg/files/AgACAgIAAxkBAAIFakePhoto', 'short')).statusCode).toBe(401);
    expect(telegram.callsOf('getFile').length).toBe(before);
  });

  it('answers 404 for an unknown channel or file', async () => {
    const channel = await get('/admin/channels/nope/files/AgACAgIAAxkBAAIFakePhoto');
    expect(channel.statusCode).toBe(404);
    expect(channel.json().error.message).toContain('nope');
    expect((await get('/admin/channels/tg/files/AgACAgIAAxkBAAIUnknown')).statusCode).toBe(404);
    expect((await get('/admin/channels/slack/files/F0UNKNOWN')).statusCode).toBe(404);
  });

  it('without HUB_ADMIN_TOKEN answers this machine only, addressed as localhost (the one admin rule)', async () => {
    delete process.env.HUB_ADMIN_TOKEN;
    try {
      const local = await get('/admin/channels/tg/files/AgACAgIAAxkBAAIFakePhoto', null);
      expect(local.statusCode).toBe(200);
      expect(Buffer.compare(local.rawPayload, PHOTO)).toBe(0);
      const before = telegram.callsOf('getFile').length;
      const remote = await app.inject({
        method: 'GET',
        url: '/admin/channels/tg/files/AgACAgIAAxkBAAIFakePhoto',
        remoteAddress: '203.0.113.7',
      });
      expect(remote.statusCode).toBe(403);
      expect(remote.json().error).toMatchObject({ code: 'admin.loopback_only' });
      expect(remote.json().error.message).toMatch(/Fix: export HUB_ADMIN_TOKEN/);
      const rebound = await app.inject({
        method: 'GET',
        url: '/admin/channels/tg/files/AgACAgIAAxkBAAIFakePhoto',
        headers: { host: 'files.attacker.example' },
      });
      expect(rebound.statusCode).toBe(403);
      expect(telegram.callsOf('getFile').length).toBe(before);
    } finally {
      process.env.HUB_ADMIN_TOKEN = ADMIN;
    }
  });

  it('returns WhatsApp Cloud media: GET /{media-id}, then its URL with the access token', async () => {
    const calls = graph.calls.length;
    const photo = await get('/admin/channels/wa/files/900000000000101');
    expect(photo.statusCode).toBe(200);
    expect(photo.headers['content-type']).toBe('image/jpeg');
    expect(Buffer.compare(photo.rawPayload, PHOTO)).toBe(0);
    expect(photo.headers['content-disposition']).toBe('attachment; filename="900000000000101.jpg"');
    expect(graph.calls.slice(calls).map((call) => `${call.method} ${call.path} ${call.status}`)).toEqual([
      'GET /v23.0/900000000000101 200',
      'GET /media-download/900000000000101 200',
    ]);
    const voice = await get('/admin/channels/wa/files/900000000000102');
    expect(voice.headers['content-type']).toBe('audio/ogg');
    expect(createHash('sha256').update(voice.rawPayload).digest('hex')).toBe(
      createHash('sha256').update(OGG).digest('hex'),
    );
  });

  it('refuses WhatsApp media over maxFileBytes before downloading, and reports unknown ids and bad tokens', async () => {
    const calls = graph.calls.length;
    const big = await get('/admin/channels/wa/files/900000000000103');
    expect(big.statusCode).toBe(413);
    expect(big.json().error.message).toMatch(/5000 bytes.*"wa"'s maxFileBytes \(4000\)/);
    expect(graph.calls.slice(calls).map((call) => call.path)).toEqual(['/v23.0/900000000000103']);
    // Graph: 400 #100 for a media id it does not know (or one older than 30 days).
    expect((await get('/admin/channels/wa/files/900000000000404')).statusCode).toBe(404);
    const notAnId = await get('/admin/channels/wa/files/..%2F100000000000077');
    expect(notAnId.statusCode).toBe(404);
    expect(graph.calls.at(-1)?.path).toBe('/v23.0/900000000000404');
    const wrong = await get('/admin/channels/wa-wrong-token/files/900000000000101');
    expect(wrong.statusCode).toBe(502);
    expect(wrong.json().error.message).toMatch(/401 \(#190\).*Fix: check the channel's accessToken/);
    expect(wrong.body).not.toContain('WRONG0000');
  });

  it('returns WhatsApp Web media through downloadMedia, within maxFileBytes, once paired', async () => {
    const path = (id: string) => `/admin/channels/wweb/files/${encodeURIComponent(id)}`;
    const unpaired = await get(path('false_15550002222@c.us_DOC1'));
    expect(unpaired.statusCode).toBe(502);
    expect(unpaired.json().error.message).toMatch(/not connected.*Fix: pair the session/);
    web.emit('ready');
    const doc = await get(path('false_15550002222@c.us_DOC1'));
    expect(doc.statusCode).toBe(200);
    expect(doc.headers['content-type']).toBe('application/pdf');
    expect(doc.headers['content-disposition']).toBe('attachment; filename="invoice_7.pdf"');
    expect(Buffer.compare(doc.rawPayload, PNG)).toBe(0);
    const downloads = webDownloads;
    expect((await get(path('false_15550002222@c.us_BIG1'))).statusCode).toBe(413);
    expect(webDownloads).toBe(downloads);
    expect((await get(path('false_15550002222@c.us_GONE'))).statusCode).toBe(404);
    expect((await get(path('false_15550002222@c.us_NOPE'))).statusCode).toBe(404);
  });

  it('reports a Slack download redirected to sign-in as 502 with the fix', async () => {
    const { fetchSlackFile } = await import('../../connectors/slack/files');
    const { WebClient } = await import('@slack/web-api');
    const client = new WebClient(SLACK_TOKEN, { slackApiUrl: slack.url, retryConfig: { retries: 0 } });
    const attempt = fetchSlackFile({
      channel: 'slack',
      client,
      botToken: 'xoxb-0000000000-FAKEwrongtoken',
      apiUrl: slack.url,
      maxFileBytes: 10_000,
      fileId: 'F0FAKEPNG01',
    });
    await expect(attempt).rejects.toMatchObject({
      status: 502,
      message: expect.stringMatching(/files:read/),
    });
    expect(slack.downloads.at(-1)?.status).toBe(302);
    // A URL outside Slack's file host never gets the token.
    await expect(
      fetchSlackFile({
        channel: 'slack',
        client,
        botToken: SLACK_TOKEN,
        apiUrl: slack.url,
        maxFileBytes: 10_000,
        url: 'https://attacker.example/steal',
      }),
    ).rejects.toMatchObject({ code: 'file.not_found' });
  });
});
