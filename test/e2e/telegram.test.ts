import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TelegramEmulator } from '../emulators/telegram-emulator';
import { counter, until } from './channel-helpers';
import { type HubProcess, startHubProcess, writeConfig } from './hub-process';

const TOKEN = '7000000001:FAKE_support_token_0123456789';
const SALES_TOKEN = '7000000002:FAKE_sales_token_0123456789';
const SECRET = 'FAKE_tg_secret_token-0123456789_abc';

let support: TelegramEmulator;
let sales: TelegramEmulator;
let hub: HubProcess;
let nextUpdateId = 5000;

function textUpdate(chatId: number, text: string, updateId = ++nextUpdateId) {
  return {
    update_id: updateId,
    message: {
      message_id: updateId,
      from: { id: chatId, is_bot: false, first_name: 'Ann', language_code: 'en' },
      chat: { id: chatId, first_name: 'Ann', type: 'private' },
      date: Math.floor(Date.now() / 1000),
      text,
    },
  };
}

const post = (channel: string, body: unknown, secret: string | null = SECRET) =>
  fetch(`${hub.url}/webhooks/${channel}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(secret === null ? {} : { 'x-telegram-bot-api-secret-token': secret }),
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

const sentTo = (emulator: TelegramEmulator, chatId: number) =>
  emulator.sent.filter((message) => message.chat_id === String(chatId));

beforeAll(async () => {
  support = await new TelegramEmulator({ token: TOKEN, botUsername: 'FakeHubBot' }).start();
  sales = await new TelegramEmulator({ token: SALES_TOKEN, botUsername: 'FakeSalesBot' }).start();
  const config = writeConfig({
    database: { driver: 'pglite', dataDir: 'memory://' },
    outbound: { backoffMs: 50 },
    channels: [
      { id: 'rest', type: 'rest' },
      {
        id: 'tg-support',
        type: 'telegram',
        botToken: '${TG_SUPPORT_TOKEN}',
        secretToken: '${TG_SECRET}',
        apiRoot: support.url,
      },
      {
        id: 'tg-sales',
        type: 'telegram',
        botToken: '${TG_SALES_TOKEN}',
        secretToken: '${TG_SECRET}',
        apiRoot: sales.url,
      },
    ],
  });
  hub = await startHubProcess(config, [], {
    TG_SUPPORT_TOKEN: TOKEN,
    TG_SALES_TOKEN: SALES_TOKEN,
    TG_SECRET: SECRET,
  });
});

afterAll(async () => {
  if (hub) expect(await hub.stop()).toBe(0);
  await support?.stop();
  await sales?.stop();
});

describe('Telegram channel through the whole hub', () => {
  it('answers a signed webhook message on Telegram, and is ready', async () => {
    const response = await post('tg-support', textUpdate(1111111, 'How long does standard shipping take?'));
    expect(response.status).toBe(200);
    await until('the answer on Telegram', () => sentTo(support, 1111111).length === 1);
    const [answer] = sentTo(support, 1111111);
    expect(answer?.text).toMatch(/day/i);
    expect(answer?.parse_mode).toBe('HTML');
    expect(support.callsOf('getMe')).toHaveLength(1);
    const ready = (await (await fetch(`${hub.url}/readyz`)).json()) as { checks: Record<string, string> };
    expect(ready.checks).toMatchObject({ 'channel:tg-support': 'ok', 'channel:tg-sales': 'ok' });
  });

  it('answers a redelivered update once', async () => {
    const chat = 2222222;
    const first = textUpdate(chat, 'Can I get an invoice?');
    expect((await post('tg-support', first)).status).toBe(200);
    expect((await post('tg-support', first)).status).toBe(200);
    // Same conversation, strictly ordered: once this answer is out, a duplicate would have been answered too.
    expect((await post('tg-support', textUpdate(chat, 'Which payment methods do you accept?'))).status).toBe(
      200,
    );
    await until('two answers', () => sentTo(support, chat).length >= 2);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(sentTo(support, chat)).toHaveLength(2);
    expect(
      await counter(hub.url, 'hub_duplicates_dropped_total', { channel: 'tg-support' }),
    ).toBeGreaterThanOrEqual(1);
  });

  it('does not answer an edited message', async () => {
    const chat = 3333333;
    const original = textUpdate(chat, 'How long does standard shipping take?');
    await post('tg-support', original);
    await until('the first answer', () => sentTo(support, chat).length === 1);
    await post('tg-support', {
      update_id: ++nextUpdateId,
      edited_message: {
        ...original.message,
        text: 'How long does express shipping take?',
        edit_date: original.message.date + 5,
      },
    });
    await post('tg-support', textUpdate(chat, 'Can I get an invoice?'));
    await until('the second answer', () => sentTo(support, chat).length >= 2);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(sentTo(support, chat)).toHaveLength(2);
  });

  it('waits out a 429 retry_after and still delivers', async () => {
    const chat = 4444444;
    support.failNext('sendMessage', { code: 429, retryAfter: 1 });
    await post('tg-support', textUpdate(chat, 'Which payment methods do you accept?'));
    await until('the delayed answer', () => sentTo(support, chat).length === 1);
    const attempts = support.callsOf('sendMessage').filter((call) => call.params.chat_id === String(chat));
    expect(attempts.map((call) => call.status)).toEqual([429, 200]);
    expect((attempts[1]?.at ?? 0) - (attempts[0]?.at ?? 0)).toBeGreaterThanOrEqual(950);
  });

  it('turns a button press into an action, stops the spinner and answers', async () => {
    const chat = 5555555;
    await post('tg-support', {
      update_id: ++nextUpdateId,
      callback_query: {
        id: 'cbq-1',
        from: { id: chat, is_bot: false, first_name: 'Bo' },
        message: { message_id: 77, chat: { id: chat, type: 'private' }, date: 1, text: 'Pick one' },
        data: 'shipping',
      },
    });
    await until('answerCallbackQuery', () => support.callsOf('answerCallbackQuery').length === 1);
    await until('the answer to the action', () => sentTo(support, chat).length === 1);
  });

  it('rejects forged requests with 401 and publishes nothing', async () => {
    const before = await counter(hub.url, 'hub_messages_in_total', { channel: 'tg-support' });
    const forged = textUpdate(6666666, 'forged');
    expect((await post('tg-support', forged, null)).status).toBe(401);
    expect((await post('tg-support', forged, '')).status).toBe(401);
    expect((await post('tg-support', forged, 'FAKE_tg_secret_token-0123456789_abd')).status).toBe(401);
    expect((await post('tg-sales', forged, 'not-the-secret')).status).toBe(401);
    expect(
      await counter(hub.url, 'hub_webhook_requests_total', { outcome: 'unauthorized' }),
    ).toBeGreaterThanOrEqual(4);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await counter(hub.url, 'hub_messages_in_total', { channel: 'tg-support' })).toBe(before);
    expect(sentTo(support, 6666666)).toHaveLength(0);
  });

  it('answers malformed JSON with 400 and keeps serving', async () => {
    expect((await post('tg-support', '{"update_id": 1, "message": ')).status).toBe(400);
    expect((await post('tg-support', '[1, 2]')).status).toBe(400);
    const wrongType = await fetch(`${hub.url}/webhooks/tg-support`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', 'x-telegram-bot-api-secret-token': SECRET },
      body: 'hello',
    });
    expect(wrongType.status).toBe(415);
    expect((await post('tg-support', { update_id: ++nextUpdateId, poll: { id: 'p' } })).status).toBe(200);
    expect((await fetch(`${hub.url}/healthz`)).status).toBe(200);
  });

  it('runs a second bot side by side on its own token', async () => {
    const chat = 7777777;
    await post('tg-sales', textUpdate(chat, 'Can I get an invoice?'));
    await until('the answer from the sales bot', () => sentTo(sales, chat).length === 1);
    expect(sentTo(support, chat)).toHaveLength(0);
  });
});
