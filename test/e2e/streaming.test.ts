import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSlackConnector } from '../../connectors/slack/connector';
import { renderSlack } from '../../connectors/slack/render';
import { createTeamsConnector } from '../../connectors/teams/connector';
import { renderTeams } from '../../connectors/teams/render';
import { createTelegramConnector } from '../../connectors/telegram/connector';
import { renderTelegram } from '../../connectors/telegram/render';
import { MemoryFeed } from '../../core/bus';
import type { Connector } from '../../core/channels/types';
import { parseConfig } from '../../core/config/load';
import type { HubConfig } from '../../core/config/schema';
import { DialogEngine } from '../../core/dialog/engine';
import { loadDialogKit } from '../../core/dialog/setup';
import { createTurnHandler } from '../../core/dialog/turn';
import { createLlmClient } from '../../core/llm';
import { logger } from '../../core/log';
import { createOutbound } from '../../core/outbound';
import { createKnowledge } from '../../core/rag';
import { MemoryStateStore } from '../../core/state';
import { MemoryKeyValueStore } from '../../core/storage';
import { createStore, type KyselyStore } from '../../core/store';
import type { EventHandler, InboundEvent, OutboundMessage } from '../../core/types';
import { type OpenAiEmulator, startOpenAiEmulator } from '../emulators/openai-emulator';
import { defaultReply } from '../emulators/openai-emulator-replies';
import { OpenIdEmulator } from '../emulators/openid-emulator';
import { SlackEmulator } from '../emulators/slack-emulator';
import { TeamsEmulator } from '../emulators/teams-emulator';
import { TelegramEmulator } from '../emulators/telegram-emulator';

/**
 * A long LLM answer streamed into Telegram and Slack as one message edited in place: the real
 * engine, turn handler, connectors and outbound scheduler (Redis), the OpenAI emulator streaming
 * slowly, the platform emulators behind telegraf and @slack/web-api.
 */
const TG_TOKEN = '7000000021:FAKE_streaming_e2e_0123456789';
const SLACK_TOKEN = 'xoxb-0000000000-FAKEstreame2etoken';
const TEAMS_APP_ID = '11111111-2222-3333-4444-555555555588';
const TEAMS_APP_PASSWORD = 'FAKE~teams~stream~e2e~secret~00';
const prefix = `test-stream-e2e-${randomUUID().slice(0, 8)}`;

/** About 300 characters in 6-character pieces, 40 ms apart: some 2 s of streaming. */
const CHUNK_MS = 40;
const LONG_ANSWER =
  'Standard shipping takes three to five working days on the mainland [1]. Orders placed before ' +
  'three in the afternoon leave the warehouse the same day, and you get a tracking number by e-mail ' +
  'as soon as the parcel is handed to the carrier. Remote regions can take up to two days longer, ' +
  'and express delivery arrives the next working day.';

let llm: OpenAiEmulator;
let telegram: TelegramEmulator;
let slack: SlackEmulator;
let openid: OpenIdEmulator;
let teams: TeamsEmulator;
let store: KyselyStore;
let engine: DialogEngine;
let config: HubConfig;
const states = new MemoryStateStore({ ttlMs: 60_000 });
const closers: Array<() => Promise<void>> = [];

beforeAll(async () => {
  llm = await startOpenAiEmulator({ chunkDelayMs: CHUNK_MS });
  telegram = await new TelegramEmulator({ token: TG_TOKEN, botUsername: 'StreamBot' }).start();
  slack = await new SlackEmulator({ token: SLACK_TOKEN }).start();
  openid = await new OpenIdEmulator({ appId: TEAMS_APP_ID, appPassword: TEAMS_APP_PASSWORD }).start();
  teams = await new TeamsEmulator({ verifyToken: (token) => openid.verifyAccessToken(token) }).start();
  config = parseConfig(
    {
      database: { dataDir: 'memory://' },
      redis: { url: 'redis://127.0.0.1:6379', keyPrefix: prefix },
      outbound: { driver: 'redis', backoffMs: 50 },
      llm: { enabled: true, baseUrl: llm.url, timeoutMs: 20_000, maxRetries: 0 },
      channels: [
        {
          id: 'tg',
          type: 'telegram',
          botToken: TG_TOKEN,
          botUsername: 'StreamBot',
          secretToken: 'FAKE_secret_0123456789',
          apiRoot: telegram.url,
        },
        {
          id: 'sl',
          type: 'slack',
          botToken: SLACK_TOKEN,
          signingSecret: 'FAKE_slack_signing_secret_000000',
          apiUrl: slack.url,
        },
        {
          id: 'tm',
          type: 'teams',
          appId: TEAMS_APP_ID,
          appPassword: TEAMS_APP_PASSWORD,
          allowedTenants: ['*'],
          openIdMetadataUrl: openid.metadataUrl,
          tokenEndpoint: openid.tokenEndpoint(),
          // The conversations here never sent an activity: replies go to the proactive endpoint.
          serviceUrl: `${teams.url}/amer/`,
        },
        {
          id: 'tg-quiet',
          type: 'telegram',
          botToken: TG_TOKEN,
          botUsername: 'StreamBot',
          secretToken: 'FAKE_secret_0123456789',
          apiRoot: telegram.url,
          streaming: false,
        },
      ],
    },
    {},
  );
  scriptLongAnswers();
  store = await createStore(config);
  const knowledge = await createKnowledge(config);
  const client = createLlmClient(config.llm);
  engine = new DialogEngine({
    config,
    retriever: knowledge.retriever,
    llm: client,
    dialog: await loadDialogKit(config, { llm: client }),
  });
});

afterAll(async () => {
  for (const close of closers.reverse()) await close();
  await store?.close();
  await states.close();
  await llm?.close();
  await telegram?.stop();
  await slack?.stop();
  await teams?.stop();
  await openid?.stop();
  const redis = new Redis('redis://127.0.0.1:6379');
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
  await redis.quit();
});

/** One worker process: its own connectors and scheduler on the shared Redis, the shared store. */
async function startWorker(options: { crashAfterAnswer?: boolean } = {}): Promise<EventHandler> {
  const outbound = await createOutbound(config, logger.child({ component: 'outbound' }));
  closers.push(() => outbound.close());
  const feed = new MemoryFeed(`stream-${randomUUID()}`);
  closers.push(() => feed.close());
  const factories = {
    telegram: createTelegramConnector,
    slack: createSlackConnector,
    teams: createTeamsConnector,
  };
  const connectors = new Map<string, Connector>(
    config.channels
      .filter((channel) => channel.type in factories)
      .map((channel) => [
        channel.id,
        factories[channel.type as keyof typeof factories]({
          config: channel,
          hub: config,
          accept: async () => ({ accepted: true }),
          storage: new MemoryKeyValueStore(),
          feed,
          store,
          logger: logger.child({ channel: channel.id }),
          outbound: outbound.scheduler,
        }),
      ]),
  );
  const answering = options.crashAfterAnswer
    ? ({
        respond: async (...args: Parameters<DialogEngine['respond']>) => {
          await engine.respond(...args);
          throw new Error('worker died after generating, before storing the reply');
        },
      } as unknown as DialogEngine)
    : engine;
  return createTurnHandler({
    engine: answering,
    states,
    store,
    feed,
    deliver: async (message) => connectors.get(message.ref.channel)?.deliver?.(message),
    openDraft: (ref, replyId, locale) => connectors.get(ref.channel)?.openDraft?.(ref, replyId, locale),
  });
}

/** The answer request (a prompt with passages) gets the long answer; intents and rewrites the default. */
function scriptLongAnswers(): void {
  const answer = (body: Parameters<typeof defaultReply>[0]) =>
    !body.response_format && JSON.stringify(body.messages).includes('[1]') ? LONG_ANSWER : defaultReply(body);
  // Enough for every request of this file; the tests run side by side, each in its own chat.
  llm.script(...Array.from({ length: 40 }, () => answer));
}

let sequence = 0;
function question(channel: string, conversation: string, text: string): InboundEvent {
  return {
    id: `${channel}:stream-${++sequence}-${randomUUID().slice(0, 6)}`,
    kind: 'message',
    ref: { channel, tenant: 'default', conversation },
    sender: { id: `user-${conversation}` },
    receivedAt: new Date().toISOString(),
    text,
    locale: 'en',
  };
}

const delivery = (attempt: number) => ({
  attempt,
  fencingToken: attempt,
  signal: new AbortController().signal,
});

const tgCalls = (method: string, chat: string) =>
  telegram.callsOf(method).filter((call) => String(call.params.chat_id) === chat);

function telegramText(reply: OutboundMessage | undefined): string | undefined {
  const call = reply && renderTelegram(reply)[0];
  return call && 'text' in call.payload ? call.payload.text : undefined;
}

describe.concurrent('a long LLM answer streams as message edits', () => {
  it('Telegram: one sendMessage, then editMessageText while generating, the last edit is the stored reply', async () => {
    const chat = '920001';
    const handle = await startWorker();
    const event = question('tg', chat, 'How long does standard shipping take?');
    await handle(event, delivery(1));

    const [reply] = await store.repliesTo(event.id);
    expect(reply?.source).toBe('llm');
    expect(reply?.content.type).toBe('text');
    // The stored reply is more than the streamed answer (the flow asks whether it helped): the final edit shows it all.
    expect(reply?.content).toMatchObject({
      text: expect.stringMatching(/^Standard shipping .* next working day\./s),
    });
    const posts = tgCalls('sendMessage', chat);
    const edits = tgCalls('editMessageText', chat);
    expect(posts).toHaveLength(1);
    // The draft was on screen before the model finished: at least one draft edit, then the final one.
    expect(edits.length).toBeGreaterThanOrEqual(2);
    expect(String(edits[0]?.params.text)).toMatch(/ …$/);
    expect(String(edits[0]?.params.text).length).toBeLessThan(LONG_ANSWER.length);
    expect(edits.every((e) => e.params.message_id === edits[0]?.params.message_id)).toBe(true);
    expect(edits.at(-1)?.params.text).toBe(telegramText(reply));
    expect(telegram.sent.filter((m) => m.chat_id === chat).map((m) => m.text)).toEqual([telegramText(reply)]);
  }, 30_000);

  it('Slack: one chat.postMessage, then chat.update while generating, the last update is the stored reply', async () => {
    const channel = 'C0STREAME2E';
    const handle = await startWorker();
    const event = question('sl', channel, 'How long does standard shipping take?');
    await handle(event, delivery(1));

    const [reply] = await store.repliesTo(event.id);
    const posts = slack.callsOf('chat.postMessage').filter((c) => c.params.channel === channel);
    const updates = slack.callsOf('chat.update').filter((c) => c.params.channel === channel);
    expect(posts).toHaveLength(1);
    expect(updates.length).toBeGreaterThanOrEqual(2);
    const final = reply && renderSlack(reply)[0];
    expect(updates.at(-1)?.params.text).toBe(final?.payload.text);
    expect(slack.posted.filter((p) => p.channel === channel).map((p) => p.text)).toEqual([
      final?.payload.text,
    ]);
  }, 30_000);

  it('Teams: one POSTed activity, then Update Activity while generating, the last update is the stored reply', async () => {
    const conversation = 'a:1FakeStreamE2ETeams';
    const handle = await startWorker();
    const event = question('tm', conversation, 'How long does standard shipping take?');
    await handle(event, delivery(1));

    const [reply] = await store.repliesTo(event.id);
    const calls = teams.callsTo(conversation);
    const puts = calls.filter((c) => c.method === 'PUT');
    expect(calls.filter((c) => c.method === 'POST')).toHaveLength(1);
    expect(puts.length).toBeGreaterThanOrEqual(2);
    expect(String(puts[0]?.activity?.text)).toMatch(/ …$/);
    const [shown] = teams.postedTo(conversation);
    expect(puts.every((c) => c.activityId === shown?.id && c.status === 200)).toBe(true);
    const final = reply && renderTeams(reply)[0];
    expect(final?.text).toMatch(/^Standard shipping /);
    expect(puts.at(-1)?.activity).toEqual({ ...final, id: shown?.id });
    expect(teams.postedTo(conversation).map((p) => p.activity)).toEqual([final]);
  }, 30_000);

  it('a turn redelivered after the worker died between draft and final answers in the same message', async () => {
    const chat = '920003';
    const event = question('tg', chat, 'How long does standard shipping take?');
    const dying = await startWorker({ crashAfterAnswer: true });
    await expect(dying(event, delivery(1))).rejects.toThrow(/worker died/);
    expect(tgCalls('sendMessage', chat)).toHaveLength(1);
    expect(await store.repliesTo(event.id)).toHaveLength(0);

    const next = await startWorker();
    await next(event, delivery(2));
    const [reply] = await store.repliesTo(event.id);
    expect(tgCalls('sendMessage', chat)).toHaveLength(1);
    const shown = telegram.sent.filter((m) => m.chat_id === chat);
    expect(shown.map((m) => m.text)).toEqual([telegramText(reply)]);
    // Once more, as the bus would after a crash right after the final edit: nothing new on Telegram.
    const calls = telegram.calls.length;
    await next(event, delivery(3));
    expect(telegram.calls.length).toBe(calls);
  }, 40_000);

  it('a channel with streaming: false posts the answer once, with no draft', async () => {
    const chat = '920004';
    const handle = await startWorker();
    const event = question('tg-quiet', chat, 'How long does standard shipping take?');
    await handle(event, delivery(1));
    expect(tgCalls('sendMessage', chat)).toHaveLength(1);
    expect(tgCalls('editMessageText', chat)).toHaveLength(0);
    expect(tgCalls('sendMessage', chat)[0]?.params.parse_mode).toBe('HTML');
  }, 30_000);
});
