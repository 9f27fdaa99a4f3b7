import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signSlack } from '../../connectors/slack/verify';
import { SlackEmulator } from '../emulators/slack-emulator';
import { counter, until } from './channel-helpers';
import { type HubProcess, startHubProcess, writeConfig } from './hub-process';
import { slackEvents } from './slack-events';

const TOKEN = 'xoxb-0000000000-FAKEslackbottoken';
const SIGNING_SECRET = 'FAKE_slack_signing_secret_000000';
const BOT = 'U00FAKEBOT01';
const USER = 'U00FAKEUSER1';

let slack: SlackEmulator;
let hub: HubProcess;
const {
  nextTs,
  eventCallback: envelope,
  dm,
} = slackEvents({
  bot: BOT,
  user: USER,
  firstTs: 1_767_000_000,
  eventIdPrefix: 'Ev',
});

interface PostOptions {
  timestamp?: number;
  signature?: string | null;
  contentType?: string;
  headers?: Record<string, string>;
}

async function post(body: unknown, options: PostOptions = {}) {
  const raw = typeof body === 'string' ? body : JSON.stringify(body);
  const timestamp = String(options.timestamp ?? Math.floor(Date.now() / 1000));
  const signature =
    options.signature === undefined ? signSlack(SIGNING_SECRET, timestamp, raw) : options.signature;
  return fetch(`${hub.url}/webhooks/slack-acme`, {
    method: 'POST',
    headers: {
      'content-type': options.contentType ?? 'application/json',
      'x-slack-request-timestamp': timestamp,
      ...(signature === null ? {} : { 'x-slack-signature': signature }),
      ...options.headers,
    },
    body: raw,
  });
}

const postedTo = (channel: string) => slack.posted.filter((message) => message.channel === channel);

beforeAll(async () => {
  slack = await new SlackEmulator({ token: TOKEN, botUserId: BOT, botId: 'B00FAKEBOT01' }).start();
  const config = writeConfig({
    database: { driver: 'pglite', dataDir: 'memory://' },
    outbound: { backoffMs: 50 },
    channels: [
      { id: 'rest', type: 'rest' },
      {
        id: 'slack-acme',
        type: 'slack',
        tenant: 'acme',
        botToken: '${SLACK_BOT_TOKEN}',
        signingSecret: '${SLACK_SIGNING_SECRET}',
        apiUrl: slack.url,
      },
    ],
  });
  hub = await startHubProcess(config, [], { SLACK_BOT_TOKEN: TOKEN, SLACK_SIGNING_SECRET: SIGNING_SECRET });
});

afterAll(async () => {
  if (hub) expect(await hub.stop()).toBe(0);
  await slack?.stop();
});

describe('Slack channel through the whole hub', () => {
  it('answers url_verification with the challenge, after checking the signature', async () => {
    const body = {
      token: 'x',
      challenge: 'FAKE_challenge_3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P',
      type: 'url_verification',
    };
    const response = await post(body);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe(body.challenge);
    expect((await post(body, { signature: 'v0=00' })).status).toBe(401);
    expect(slack.callsOf('auth.test')).toHaveLength(1);
  });

  it('answers a signed direct message in the DM, with mrkdwn', async () => {
    expect((await post(dm('D00FAKEDM001', 'How long does standard shipping take?'))).status).toBe(200);
    await until('the answer on Slack', () => postedTo('D00FAKEDM001').length === 1);
    expect(postedTo('D00FAKEDM001')[0]?.text).toMatch(/day/i);
  });

  it('answers a mention in a thread inside that thread, once for message + app_mention', async () => {
    const ts = nextTs();
    const root = '1767224888.280449';
    const text = `<@${BOT}> Can I get an invoice?`;
    const common = { channel: 'C00FAKECHAN1', user: USER, text, ts, thread_ts: root, event_ts: ts };
    expect((await post(envelope({ type: 'message', channel_type: 'channel', ...common }))).status).toBe(200);
    expect((await post(envelope({ type: 'app_mention', ...common }))).status).toBe(200);
    const next = nextTs();
    await post(
      envelope({
        type: 'app_mention',
        ...common,
        text: `<@${BOT}> Which payment methods do you accept?`,
        ts: next,
        event_ts: next,
      }),
    );
    await until('two thread answers', () => postedTo('C00FAKECHAN1').length >= 2);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const answers = postedTo('C00FAKECHAN1');
    expect(answers).toHaveLength(2);
    expect(answers.every((answer) => answer.thread_ts === root)).toBe(true);
  });

  it('deduplicates a retried delivery (X-Slack-Retry-Num)', async () => {
    const body = dm('D00FAKEDM002', 'Can I get an invoice?');
    expect((await post(body)).status).toBe(200);
    const retry = await post(body, {
      headers: { 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_timeout' },
    });
    expect(retry.status).toBe(200);
    await post(dm('D00FAKEDM002', 'Which payment methods do you accept?'));
    await until('two answers', () => postedTo('D00FAKEDM002').length >= 2);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(postedTo('D00FAKEDM002')).toHaveLength(2);
    expect(
      await counter(hub.url, 'hub_duplicates_dropped_total', { channel: 'slack-acme' }),
    ).toBeGreaterThanOrEqual(2);
  });

  it('ignores its own echo, edits and channel chatter not addressed to it', async () => {
    const channel = 'C00FAKECHAN9';
    const echoTs = nextTs();
    await post(
      envelope({
        type: 'message',
        channel,
        bot_id: 'B00FAKEBOT01',
        app_id: 'A00FAKEAPP01',
        user: BOT,
        text: 'How long does shipping take?',
        ts: echoTs,
      }),
    );
    await post(
      envelope({
        type: 'message',
        channel,
        channel_type: 'channel',
        user: USER,
        text: 'lunch anyone?',
        ts: nextTs(),
      }),
    );
    await post(
      envelope({
        type: 'message',
        subtype: 'message_changed',
        channel,
        ts: nextTs(),
        message: { type: 'message', user: USER, text: `<@${BOT}> edited`, ts: echoTs },
      }),
    );
    await post(
      envelope({
        type: 'message',
        channel,
        channel_type: 'channel',
        user: USER,
        text: `<@${BOT}> Can I get an invoice?`,
        ts: nextTs(),
      }),
    );
    await until('the answer to the mention', () => postedTo(channel).length >= 1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(postedTo(channel)).toHaveLength(1);
  });

  it('waits out a 429 Retry-After and still delivers', async () => {
    slack.failNext('chat.postMessage', { status: 429, retryAfter: 1 });
    await post(dm('D00FAKEDM003', 'Which payment methods do you accept?'));
    await until('the delayed answer', () => postedTo('D00FAKEDM003').length === 1);
    const attempts = slack
      .callsOf('chat.postMessage')
      .filter((call) => call.params.channel === 'D00FAKEDM003');
    expect(attempts.map((call) => call.status)).toEqual([429, 200]);
    expect((attempts[1]?.at ?? 0) - (attempts[0]?.at ?? 0)).toBeGreaterThanOrEqual(950);
  });

  it('turns a Block Kit button press into an action and answers it', async () => {
    const payload = {
      type: 'block_actions',
      user: { id: USER, name: 'fake.user' },
      api_app_id: 'A00FAKEAPP01',
      team: { id: 'T00FAKE00AA' },
      trigger_id: '1111.2222.fake',
      channel: { id: 'D00FAKEDM004', name: 'directmessage' },
      container: { type: 'message', message_ts: '1767000000.000100', channel_id: 'D00FAKEDM004' },
      actions: [
        {
          action_id: 'shipping',
          block_id: 'b1',
          type: 'button',
          value: 'shipping',
          text: { type: 'plain_text', text: 'Shipping times' },
          action_ts: '1767000001.000200',
        },
      ],
    };
    const form = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
    expect((await post(form, { contentType: 'application/x-www-form-urlencoded' })).status).toBe(200);
    await until('the answer to the action', () => postedTo('D00FAKEDM004').length === 1);
  });

  it('rejects forged and stale requests with 401 and publishes nothing', async () => {
    const before = await counter(hub.url, 'hub_messages_in_total', { channel: 'slack-acme' });
    const body = dm('D00FAKEDM005', 'Can I get an invoice?');
    const raw = JSON.stringify(body);
    const now = Math.floor(Date.now() / 1000);
    const tampered = signSlack(SIGNING_SECRET, String(now), raw.replace('invoice', 'invoicf'));
    expect((await post(body, { signature: tampered })).status).toBe(401);
    expect((await post(body, { signature: signSlack('wrong-secret-000000', String(now), raw) })).status).toBe(
      401,
    );
    const stale = now - 301;
    expect(
      (await post(body, { timestamp: stale, signature: signSlack(SIGNING_SECRET, String(stale), raw) }))
        .status,
    ).toBe(401);
    expect(
      (await post(body, { signature: signSlack(SIGNING_SECRET, String(now), raw).replace('v0=', 'v1=') }))
        .status,
    ).toBe(401);
    expect((await post(body, { signature: null })).status).toBe(401);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await counter(hub.url, 'hub_messages_in_total', { channel: 'slack-acme' })).toBe(before);
    expect(postedTo('D00FAKEDM005')).toHaveLength(0);
  });

  it('answers malformed JSON with 400 and keeps serving', async () => {
    expect((await post('{"type": "event_callback", "event": ')).status).toBe(400);
    expect(
      (await post('payload=%7Bnot-json', { contentType: 'application/x-www-form-urlencoded' })).status,
    ).toBe(400);
    expect((await post(envelope({ type: 'reaction_added', user: USER, reaction: 'thumbsup' }))).status).toBe(
      200,
    );
    expect((await fetch(`${hub.url}/healthz`)).status).toBe(200);
    const ready = (await (await fetch(`${hub.url}/readyz`)).json()) as { checks: Record<string, string> };
    expect(ready.checks['channel:slack-acme']).toBe('ok');
    const metrics = await (await fetch(`${hub.url}/metrics`)).text();
    expect(metrics).toContain('hub_readiness_up{check="channel:slack-acme"} 1');
    expect(metrics).toContain('hub_readiness_up{check="database"} 1');
  });
});
