import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signWhatsApp } from '../../connectors/whatsapp/verify';
import { WhatsAppEmulator } from '../emulators/whatsapp-emulator';
import { counter, until } from './channel-helpers';
import { type HubProcess, startHubProcess, writeConfig } from './hub-process';

const TOKEN = 'EAAFAKEe2eWhatsappAccessToken000000';
const APP_SECRET = 'FAKE_meta_app_secret_00000000000';
const VERIFY_TOKEN = 'FAKE_verify_token_e2e';
const PHONE_ID = '100000000000001';
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `hub-e2e-wa-${randomBytes(4).toString('hex')}`;

let graph: WhatsAppEmulator;
let hub: HubProcess;
let sequence = 0;

function notification(customer: string, body: string, timestamp = Math.floor(Date.now() / 1000)) {
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
              contacts: [{ profile: { name: 'Test User' }, wa_id: customer }],
              messages: [
                {
                  from: customer,
                  id: `wamid.E2E_${++sequence}`,
                  timestamp: String(timestamp),
                  type: 'text',
                  text: { body },
                },
              ],
            },
          },
        ],
      },
    ],
  };
}

const post = (payload: unknown, signature?: string) => {
  const body = JSON.stringify(payload);
  return fetch(`${hub.url}/webhooks/wa-support`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-hub-signature-256': signature ?? signWhatsApp(APP_SECRET, body),
    },
    body,
  });
};

const textsTo = (customer: string) => graph.sentTo(customer).filter((m) => m.type === 'text');

beforeAll(async () => {
  graph = await new WhatsAppEmulator({
    accessToken: TOKEN,
    phoneNumberId: PHONE_ID,
    templates: ['support_follow_up:en_US'],
  }).start();
  // Production shape: BullMQ bus and Redis state, so the 24-hour window lives in Redis too.
  const config = writeConfig({
    redis: { url: REDIS_URL, keyPrefix: prefix },
    bus: { driver: 'bullmq' },
    state: { driver: 'redis' },
    database: { driver: 'pglite', dataDir: 'memory://' },
    outbound: { backoffMs: 50 },
    channels: [
      { id: 'rest', type: 'rest' },
      {
        id: 'wa-support',
        type: 'whatsapp',
        phoneNumberId: PHONE_ID,
        accessToken: '${WA_TOKEN}',
        appSecret: '${WA_APP_SECRET}',
        verifyToken: '${WA_VERIFY_TOKEN}',
        graphApiUrl: graph.url,
        template: { name: 'support_follow_up', language: 'en_US' },
      },
    ],
  });
  hub = await startHubProcess(config, [], {
    WA_TOKEN: TOKEN,
    WA_APP_SECRET: APP_SECRET,
    WA_VERIFY_TOKEN: VERIFY_TOKEN,
  });
});

afterAll(async () => {
  if (hub) expect(await hub.stop()).toBe(0);
  await graph?.stop();
  const redis = new Redis(REDIS_URL);
  for await (const keys of redis.scanStream({ match: `${prefix}:*`, count: 500 })) {
    if ((keys as string[]).length) await redis.del(...(keys as string[]));
  }
  await redis.quit();
});

describe('WhatsApp Cloud API channel through the whole hub', () => {
  it('verifies the webhook, answers a signed message on WhatsApp, and is ready', async () => {
    const handshake = await fetch(
      `${hub.url}/webhooks/wa-support?hub.mode=subscribe&hub.challenge=424242&hub.verify_token=${VERIFY_TOKEN}`,
    );
    expect(handshake.status).toBe(200);
    expect(await handshake.text()).toBe('424242');
    const response = await post(notification('15550002222', 'How long does standard shipping take?'));
    expect(response.status).toBe(200);
    await until('the answer on WhatsApp', () => textsTo('15550002222').length === 1);
    const body = (textsTo('15550002222')[0]?.payload.text as { body: string } | undefined)?.body;
    expect(body).toMatch(/day/i);
    const ready = (await (await fetch(`${hub.url}/readyz`)).json()) as { checks: Record<string, string> };
    expect(ready.checks['channel:wa-support']).toBe('ok');
  });

  it('answers a redelivered notification once', async () => {
    const customer = '15550003333';
    const first = notification(customer, 'Can I get an invoice?');
    expect((await post(first)).status).toBe(200);
    expect((await post(first)).status).toBe(200);
    // Same conversation, strictly ordered: once this answer is out, a duplicate would have been answered too.
    expect((await post(notification(customer, 'Which payment methods do you accept?'))).status).toBe(200);
    await until('two answers', () => textsTo(customer).length >= 2);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(textsTo(customer)).toHaveLength(2);
    expect(
      await counter(hub.url, 'hub_duplicates_dropped_total', { channel: 'wa-support' }),
    ).toBeGreaterThanOrEqual(1);
  });

  it('waits out a 429 rate limit and still delivers', async () => {
    const customer = '15550004444';
    graph.failNextSend({ status: 429, code: 130429, retryAfterSeconds: 1 });
    await post(notification(customer, 'Which payment methods do you accept?'));
    await until('the delayed answer', () => textsTo(customer).length === 1);
    const attempts = graph.calls.filter(
      (call) => (call.body as { to?: string } | undefined)?.to === customer && call.body?.type === 'text',
    );
    expect(attempts.map((call) => call.status)).toEqual([429, 200]);
    expect((attempts[1]?.at ?? 0) - (attempts[0]?.at ?? 0)).toBeGreaterThanOrEqual(950);
  });

  it('rejects a forged signature with 401 and answers nothing', async () => {
    const before = await counter(hub.url, 'hub_messages_in_total', { channel: 'wa-support' });
    const customer = '15550005555';
    const forged = notification(customer, 'forged');
    expect(
      (await post(forged, signWhatsApp('FAKE_other_app_secret_000000000', JSON.stringify(forged)))).status,
    ).toBe(401);
    expect((await post(forged, 'sha256=')).status).toBe(401);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await counter(hub.url, 'hub_messages_in_total', { channel: 'wa-support' })).toBe(before);
    expect(graph.sentTo(customer)).toHaveLength(0);
  });

  it('sends the template instead of free text when the customer wrote over 24 hours ago', async () => {
    const customer = '15550006666';
    // Meta redelivers undelivered notifications for days: this one is 25 hours old.
    await post(notification(customer, 'Can I get an invoice?', Math.floor(Date.now() / 1000) - 25 * 3600));
    await until('the template', () => graph.sentTo(customer).length >= 1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(graph.sentTo(customer).map((m) => m.type)).toEqual(['template']);
    expect(graph.sentTo(customer)[0]?.payload.template).toEqual({
      name: 'support_follow_up',
      language: { code: 'en_US' },
    });
  });
});
