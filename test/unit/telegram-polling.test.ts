import Fastify from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTelegramConnector } from '../../connectors/telegram/connector';
import { channelIngress } from '../../core/channels/ingress';
import type { Connector } from '../../core/channels/types';
import { hubConfigSchema } from '../../core/config/schema';
import { logger } from '../../core/log';
import { webhookRejected } from '../../core/metrics';
import { MemoryKeyValueStore } from '../../core/storage';
import type { HubStore, InboundEvent } from '../../core/types';
import { TelegramEmulator } from '../emulators/telegram-emulator';
import { counterValue } from '../support/channel-context';

const TOKEN = '7000000001:FAKE_polling_token_00000';
let emulator: TelegramEmulator;
let connector: Connector;
const published: InboundEvent[] = [];

beforeAll(async () => {
  emulator = await new TelegramEmulator({ token: TOKEN }).start();
  // A webhook is still set for this bot: getUpdates answers 409 until it is removed.
  emulator.webhook = { url: 'https://old.example.com/hook' };
  connector = createTelegramConnector({
    config: {
      id: 'tg-poll',
      type: 'telegram',
      enabled: true,
      tenant: 'default',
      botToken: TOKEN,
      mode: 'polling',
      pollingTimeoutSeconds: 1,
      apiRoot: emulator.url,
    },
    hub: hubConfigSchema.parse({}),
    accept: channelIngress(async (event) => {
      published.push(event);
      return { accepted: true };
    }),
    storage: new MemoryKeyValueStore(),
    feed: { publish: async () => {}, subscribe: async () => async () => {}, close: async () => {} },
    store: {} as HubStore,
    logger,
  });
  await connector.register(Fastify());
});

afterAll(async () => {
  await connector?.close?.();
  await emulator?.stop();
});

it('reports a 409 polling conflict on health, then polls once the conflict is gone', async () => {
  const deadline = Date.now() + 5_000;
  let problem: unknown;
  while (Date.now() < deadline && !problem) {
    problem = await connector.health?.().then(
      () => undefined,
      (error: Error) => error.message,
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  expect(problem).toMatch(/409: Conflict: can't use getUpdates method while webhook is active/);
  emulator.webhook = undefined;
  emulator.updates.push({
    update_id: 42,
    message: {
      message_id: 1,
      from: { id: 1111111, first_name: 'Ann' },
      chat: { id: 1111111, type: 'private' },
      date: 1,
      text: 'polled',
    },
  });
  const until = Date.now() + 10_000;
  while (Date.now() < until && published.length === 0)
    await new Promise((resolve) => setTimeout(resolve, 50));
  expect(published.map((e) => [e.id, e.text])).toEqual([['tg-poll:42', 'polled']]);
  await expect(connector.health?.()).resolves.toBeUndefined();
}, 20_000);

it('skips a polled update it cannot read (counted), instead of asking for it again forever', async () => {
  const before = published.length;
  // A button press without `from`, then an ordinary message: the second must still arrive.
  emulator.updates.push({
    update_id: 43,
    callback_query: { id: 'q', data: 'x', message: { message_id: 2, chat: { id: 5 } } },
  } as never);
  emulator.updates.push({
    update_id: 44,
    message: {
      message_id: 3,
      from: { id: 1111111, first_name: 'Ann' },
      chat: { id: 1111111, type: 'private' },
      date: 1,
      text: 'after it',
    },
  });
  const until = Date.now() + 10_000;
  while (Date.now() < until && published.length === before)
    await new Promise((resolve) => setTimeout(resolve, 50));
  expect(published.slice(before).map((e) => [e.id, e.text])).toEqual([['tg-poll:44', 'after it']]);
  expect(
    await counterValue(webhookRejected, { channel: 'tg-poll', reason: 'telegram.malformed_update' }),
  ).toBe(1);
}, 20_000);
