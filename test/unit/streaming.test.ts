import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { slackDraftPlatform } from '../../connectors/slack/draft';
import { renderSlack } from '../../connectors/slack/render';
import { createSlackSender } from '../../connectors/slack/sender';
import { teamsDraftPlatform } from '../../connectors/teams/draft';
import { ConversationReferences } from '../../connectors/teams/references';
import { renderTeams } from '../../connectors/teams/render';
import { createTeamsSender } from '../../connectors/teams/sender';
import { BotTokenProvider } from '../../connectors/teams/token';
import { telegramDraftPlatform } from '../../connectors/telegram/draft';
import { renderTelegram } from '../../connectors/telegram/render';
import { createTelegramSender } from '../../connectors/telegram/sender';
import { logger } from '../../core/log';
import {
  type DraftOptions,
  type DraftPlatform,
  deliverOverDraft,
  openDraft,
} from '../../core/outbound/draft';
import { RedisDeliveryLedger, RedisRateLimiter } from '../../core/outbound/index';
import { OutboundScheduler } from '../../core/outbound/scheduler';
import type { OutboundMessage } from '../../core/types';
import { OpenIdEmulator } from '../emulators/openid-emulator';
import { SlackEmulator } from '../emulators/slack-emulator';
import { TeamsEmulator } from '../emulators/teams-emulator';
import { TelegramEmulator } from '../emulators/telegram-emulator';

const TG_TOKEN = '7000000011:FAKE_stream_token_0123456789';
const SLACK_TOKEN = 'xoxb-0000000000-FAKEstreamtoken';
const TEAMS_APP_ID = '11111111-2222-3333-4444-555555555577';
const TEAMS_APP_PASSWORD = 'FAKE~teams~stream~secret~0000';
const prefix = `test-streaming-${randomUUID().slice(0, 8)}`;
const quiet = logger.child({ component: 'streaming-test' });
const options: DraftOptions = { intervalMs: 300, minChars: 10, maxChars: 4000 };

let redis: Redis;
let telegram: TelegramEmulator;
let slack: SlackEmulator;
let openid: OpenIdEmulator;
let teams: TeamsEmulator;

beforeAll(async () => {
  redis = new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: 1 });
  telegram = await new TelegramEmulator({ token: TG_TOKEN }).start();
  slack = await new SlackEmulator({ token: SLACK_TOKEN }).start();
  openid = await new OpenIdEmulator({ appId: TEAMS_APP_ID, appPassword: TEAMS_APP_PASSWORD }).start();
  teams = await new TeamsEmulator({ verifyToken: (token) => openid.verifyAccessToken(token) }).start();
});

afterAll(async () => {
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
  await redis.quit();
  await telegram?.stop();
  await slack?.stop();
  await teams?.stop();
  await openid?.stop();
});

/** A scheduler as one worker process has it: its own objects, the shared Redis. */
function worker() {
  const scheduler = new OutboundScheduler({
    limiter: new RedisRateLimiter(redis, prefix),
    ledger: new RedisDeliveryLedger(redis, prefix),
    policy: { maxAttempts: 2, baseDelayMs: 20, maxDelayMs: 50, maxWaitMs: 5_000, idempotencyTtlMs: 60_000 },
    logger: quiet,
  });
  const tgSender = createTelegramSender({ channel: 'tg', botToken: TG_TOKEN, apiRoot: telegram.url });
  const slackSender = createSlackSender({ channel: 'sl', botToken: SLACK_TOKEN, apiUrl: slack.url });
  const teamsSender = createTeamsSender({
    channel: 'tm',
    tokens: new BotTokenProvider({
      endpoint: openid.tokenEndpoint(),
      appId: TEAMS_APP_ID,
      appPassword: TEAMS_APP_PASSWORD,
      scope: 'https://api.botframework.com/.default',
    }),
    // No store: every conversation goes to the emulator as the proactive endpoint.
    references: new ConversationReferences({ fallbackServiceUrl: `${teams.url}/amer/`, logger: quiet }),
  });
  return {
    scheduler,
    tg: telegramDraftPlatform(tgSender),
    slack: slackDraftPlatform(slackSender),
    teams: teamsDraftPlatform(teamsSender),
  };
}

let sequence = 0;
function reply(channel: string, conversation: string, text: string): OutboundMessage {
  return {
    id: `ev-${++sequence}#0`,
    ref: { channel, tenant: 'default', conversation },
    content: { type: 'text', text, format: 'markdown' },
    createdAt: new Date().toISOString(),
    source: 'llm',
  };
}

/** What the customer should finally see on Telegram: the reply's first rendered message. */
function telegramText(message: OutboundMessage): string | undefined {
  const call = renderTelegram(message)[0];
  return call && 'text' in call.payload ? call.payload.text : undefined;
}

const tgCalls = (method: string, chat: string) =>
  telegram.callsOf(method).filter((call) => String(call.params.chat_id) === chat);

/** Feed the answer as a model would, a few characters every `everyMs`. */
async function stream(update: (text: string) => void, answer: string, everyMs: number, step = 8) {
  for (let end = step; end < answer.length + step; end += step) {
    update(answer.slice(0, end));
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** One worker's drafting of a turn: the answer so far shown as the reply's draft, then settled. */
async function showDraft<Call>(
  scheduler: OutboundScheduler,
  platform: DraftPlatform<Call>,
  message: OutboundMessage,
  text: string,
  draftOptions: DraftOptions = options,
) {
  const draft = openDraft(scheduler, platform, message, draftOptions, quiet);
  draft.update(text);
  await draft.settle();
}

const ANSWER =
  'Standard shipping takes three to five working days within the mainland, and express delivery ' +
  'arrives the next working day when ordered before three in the afternoon [1].';

/** The answer with two buttons under it. */
const choicesReply = (channel: string, conversation: string): OutboundMessage => ({
  ...reply(channel, conversation, ''),
  content: {
    type: 'choices',
    text: ANSWER,
    choices: [
      { id: 'helpful', title: 'That helped' },
      { id: 'agent', title: 'Talk to a person' },
    ],
  },
});

describe('a streamed draft on Telegram', () => {
  it('posts once, edits at most once per interval, and the final delivery edits the draft into the reply', async () => {
    const chat = '810001';
    const { scheduler, tg } = worker();
    const message = reply('tg', chat, `**Shipping:** ${ANSWER}`);
    const draft = openDraft(scheduler, tg, message, options, quiet);
    // 2.4 s of streaming; Telegram's one message per second per chat paces the edits, not the interval.
    await stream((text) => draft.update(text), ANSWER, 120);
    await draft.settle();
    const report = await deliverOverDraft(scheduler, tg, message, quiet);

    expect(tgCalls('sendMessage', chat)).toHaveLength(1);
    const edits = tgCalls('editMessageText', chat);
    expect(edits.length).toBeGreaterThanOrEqual(2);
    const draftCalls = [tgCalls('sendMessage', chat)[0], ...edits.slice(0, -1)];
    for (let i = 1; i < draftCalls.length; i++)
      expect((draftCalls[i]?.at ?? 0) - (draftCalls[i - 1]?.at ?? 0)).toBeGreaterThanOrEqual(950);
    // Drafts are plain text marked as unfinished; the final edit is the rendered reply.
    expect(String(draftCalls[1]?.params.text)).toMatch(/ …$/);
    expect(draftCalls[0]?.params.parse_mode).toBeUndefined();
    const final = telegramText(message);
    expect(final).toMatch(/^<b>Shipping:<\/b> Standard shipping/);
    expect(edits.at(-1)?.params).toMatchObject({ text: final, parse_mode: 'HTML' });
    const shown = telegram.sent.filter((m) => m.chat_id === chat);
    expect(shown).toHaveLength(1);
    expect(shown[0]?.text).toBe(final);
    expect(report.platformMessageIds).toEqual([String(shown[0]?.message_id)]);
  });

  it('a redelivered turn after a crash between draft and final edits the same message, never posts a second', async () => {
    const chat = '810002';
    const message = reply('tg', chat, ANSWER);
    const first = worker();
    await showDraft(first.scheduler, first.tg, message, ANSWER.slice(0, 40));
    expect(tgCalls('sendMessage', chat)).toHaveLength(1);
    // The worker dies here. Another one answers the redelivered event: drafts again, then delivers.
    const second = worker();
    // Allowed to wait out the chat's one-per-second rule, so this draft edit is not skipped.
    await showDraft(second.scheduler, second.tg, message, ANSWER.slice(0, 80), {
      ...options,
      intervalMs: 1000,
    });
    await deliverOverDraft(second.scheduler, second.tg, message, quiet);
    // And a third delivery of the same reply (the bus redelivered once more) changes nothing.
    const third = worker();
    const report = await deliverOverDraft(third.scheduler, third.tg, message, quiet);

    expect(tgCalls('sendMessage', chat)).toHaveLength(1);
    expect(tgCalls('editMessageText', chat).map((c) => c.status)).toEqual([200, 200]);
    expect(report).toMatchObject({ sent: 0, duplicates: 1 });
    expect(telegram.sent.filter((m) => m.chat_id === chat).map((m) => m.text)).toEqual([
      telegramText(message),
    ]);
  });

  it('takes "message is not modified" (400) as done when a retried final edit repeats the text', async () => {
    const chat = '810003';
    const { scheduler, tg } = worker();
    const message = reply('tg', chat, ANSWER);
    await showDraft(scheduler, tg, message, ANSWER);
    await deliverOverDraft(scheduler, tg, message, quiet);
    // The edit went through but the worker died before recording it: the next one edits again.
    await redis.del(`${prefix}:outbound:tg:${message.id}:0`);
    const report = await deliverOverDraft(worker().scheduler, tg, message, quiet);

    const edits = tgCalls('editMessageText', chat);
    expect(edits.map((c) => c.status)).toEqual([200, 400]);
    expect(telegram.calls.at(-1)?.method).toBe('editMessageText');
    expect(report).toMatchObject({ sent: 1, failed: 0 });
    expect(tgCalls('sendMessage', chat)).toHaveLength(1);
  });

  it('posts the reply when the draft can no longer be edited (deleted by the customer)', async () => {
    const chat = '810004';
    const { scheduler, tg } = worker();
    const message = reply('tg', chat, ANSWER);
    await showDraft(scheduler, tg, message, ANSWER.slice(0, 30));
    telegram.sent.splice(
      telegram.sent.findIndex((m) => m.chat_id === chat),
      1,
    );
    const report = await deliverOverDraft(scheduler, tg, message, quiet);

    expect(tgCalls('editMessageText', chat).map((c) => c.status)).toEqual([400]);
    expect(tgCalls('sendMessage', chat).map((c) => c.status)).toEqual([200, 200]);
    expect(telegram.sent.filter((m) => m.chat_id === chat).map((m) => m.text)).toEqual([
      telegramText(message),
    ]);
    expect(report).toMatchObject({ sent: 1, failed: 0 });
  });

  it('posts normally when no draft was shown, and a late draft update after that posts nothing', async () => {
    const chat = '810005';
    const { scheduler, tg } = worker();
    const message = reply('tg', chat, 'Yes.');
    // Under minChars: nothing to show yet.
    await showDraft(scheduler, tg, message, 'Yes.');
    await deliverOverDraft(scheduler, tg, message, quiet);
    await showDraft(worker().scheduler, tg, message, 'A draft from a stalled worker that lost its turn');

    expect(tgCalls('sendMessage', chat)).toHaveLength(1);
    expect(tgCalls('editMessageText', chat)).toHaveLength(0);
    expect(telegram.sent.find((m) => m.chat_id === chat)?.text).toBe('Yes.');
  });

  it('skips a draft edit the platform throttles (429) without retrying it, and still delivers the reply', async () => {
    const chat = '810006';
    const { scheduler, tg } = worker();
    const message = reply('tg', chat, ANSWER);
    await showDraft(scheduler, tg, message, ANSWER.slice(0, 30));
    telegram.failNext('editMessageText', { code: 429, retryAfter: 1 });
    await showDraft(scheduler, tg, message, ANSWER.slice(0, 60));
    await deliverOverDraft(scheduler, tg, message, quiet);

    const edits = tgCalls('editMessageText', chat);
    expect(edits.map((c) => c.status)).toEqual([429, 200]);
    // The final edit waited out retry_after on the chat.
    expect((edits[1]?.at ?? 0) - (edits[0]?.at ?? 0)).toBeGreaterThanOrEqual(950);
    expect(telegram.sent.find((m) => m.chat_id === chat)?.text).toBe(telegramText(message));
  });
});

describe('a streamed draft on Slack', () => {
  it('chat.postMessage once, chat.update while streaming, and the final update carries the buttons', async () => {
    const channel = 'C0STREAM01';
    const { scheduler, slack: platform } = worker();
    const message = choicesReply('sl', channel);
    const draft = openDraft(scheduler, platform, message, { ...options, maxChars: 2900 }, quiet);
    // 2.4 s of streaming: Slack's one message per second per channel leaves room for draft updates.
    await stream((text) => draft.update(text), ANSWER, 120);
    await draft.settle();
    await deliverOverDraft(scheduler, platform, message, quiet);

    const posts = slack.callsOf('chat.postMessage').filter((c) => c.params.channel === channel);
    const updates = slack.callsOf('chat.update').filter((c) => c.params.channel === channel);
    expect(posts).toHaveLength(1);
    expect(updates.length).toBeGreaterThanOrEqual(2);
    expect(updates.every((c) => c.params.ts === slack.posted.find((p) => p.channel === channel)?.ts)).toBe(
      true,
    );
    const final = renderSlack(message)[0];
    const shown = slack.posted.filter((p) => p.channel === channel);
    expect(shown).toHaveLength(1);
    expect(shown[0]?.text).toBe(final?.payload.text);
    expect(JSON.stringify(shown[0]?.blocks)).toContain('"action_id":"agent"');
  });
});

describe('a streamed draft on Teams', () => {
  it('posts one activity, updates it at most once per interval, and the final update is the Adaptive Card', async () => {
    const conversation = 'a:1FakeStreamTeams01';
    const { scheduler, teams: platform } = worker();
    const message = choicesReply('tm', conversation);
    const draft = openDraft(scheduler, platform, message, options, quiet);
    await stream((text) => draft.update(text), ANSWER, 60);
    await draft.settle();
    const report = await deliverOverDraft(scheduler, platform, message, quiet);

    const calls = teams.callsTo(conversation);
    const posts = calls.filter((c) => c.method === 'POST');
    const puts = calls.filter((c) => c.method === 'PUT');
    expect(posts).toHaveLength(1);
    expect(puts.length).toBeGreaterThanOrEqual(3);
    const [posted] = teams.postedTo(conversation);
    expect(teams.postedTo(conversation)).toHaveLength(1);
    expect(puts.every((c) => c.activityId === posted?.id && c.status === 200)).toBe(true);
    // Drafts: plain text, marked unfinished, no earlier than the interval after the previous draft call.
    const draftCalls = calls.slice(0, -1);
    expect(draftCalls.every((c) => c.activity?.textFormat === 'plain' && !c.activity.attachments)).toBe(true);
    expect(String(draftCalls[1]?.activity?.text)).toMatch(/ …$/);
    for (let i = 1; i < draftCalls.length; i++)
      expect((draftCalls[i]?.at ?? 0) - (draftCalls[i - 1]?.at ?? 0)).toBeGreaterThanOrEqual(
        options.intervalMs - 10,
      );
    // The final update is the rendered reply, card and buttons included, under the draft's id.
    const final = renderTeams(message)[0];
    expect(posted?.activity).toEqual(final);
    expect(JSON.stringify(posted?.activity.attachments)).toContain('"hubAction":"agent"');
    expect(posted?.updates).toBe(puts.length);
    expect(report.platformMessageIds).toEqual([posted?.id]);
  });

  it('a redelivered turn after a crash updates the same activity, and a third delivery sends nothing', async () => {
    const conversation = 'a:1FakeStreamTeams02';
    const message = reply('tm', conversation, ANSWER);
    const first = worker();
    await showDraft(first.scheduler, first.teams, message, ANSWER.slice(0, 40));
    expect(teams.postedTo(conversation)).toHaveLength(1);
    // The worker dies here; another answers the redelivered event.
    const second = worker();
    await showDraft(second.scheduler, second.teams, message, ANSWER.slice(0, 80));
    await deliverOverDraft(second.scheduler, second.teams, message, quiet);
    const calls = teams.callsTo(conversation).length;
    const report = await deliverOverDraft(worker().scheduler, second.teams, message, quiet);

    expect(teams.callsTo(conversation).map((c) => c.method)).toEqual(['POST', 'PUT', 'PUT']);
    expect(teams.callsTo(conversation)).toHaveLength(calls);
    expect(report).toMatchObject({ sent: 0, duplicates: 1 });
    const shown = teams.postedTo(conversation);
    expect(shown).toHaveLength(1);
    expect(shown[0]?.activity).toEqual(renderTeams(message)[0]);
  });

  it('posts the reply anew when the draft activity was deleted (404 on the update)', async () => {
    const conversation = 'a:1FakeStreamTeams03';
    const { scheduler, teams: platform } = worker();
    const message = reply('tm', conversation, ANSWER);
    await showDraft(scheduler, platform, message, ANSWER.slice(0, 30));
    const [posted] = teams.postedTo(conversation);
    teams.deleteActivity(posted?.id as string);
    const report = await deliverOverDraft(scheduler, platform, message, quiet);

    expect(teams.callsTo(conversation).map((c) => `${c.method} ${c.status}`)).toEqual([
      'POST 201',
      'PUT 404',
      'POST 201',
    ]);
    const shown = teams.postedTo(conversation);
    expect(shown.map((p) => p.activity)).toEqual([renderTeams(message)[0]]);
    expect(report).toMatchObject({ sent: 1, failed: 0, platformMessageIds: [shown[0]?.id] });
  });

  it('skips a draft update the Bot Connector throttles (429) and the final update waits out Retry-After', async () => {
    const conversation = 'a:1FakeStreamTeams04';
    const { scheduler, teams: platform } = worker();
    const message = reply('tm', conversation, ANSWER);
    await showDraft(scheduler, platform, message, ANSWER.slice(0, 30));
    teams.failNext({ status: 429, retryAfter: 1 });
    await showDraft(scheduler, platform, message, ANSWER.slice(0, 60));
    await deliverOverDraft(scheduler, platform, message, quiet);

    const puts = teams.callsTo(conversation).filter((c) => c.method === 'PUT');
    expect(puts.map((c) => c.status)).toEqual([429, 200]);
    expect((puts[1]?.at ?? 0) - (puts[0]?.at ?? 0)).toBeGreaterThanOrEqual(950);
    expect(teams.postedTo(conversation).map((p) => p.activity)).toEqual([renderTeams(message)[0]]);
  });
});
