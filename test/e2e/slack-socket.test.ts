import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SlackEmulator } from '../emulators/slack-emulator';
import { counter, until } from './channel-helpers';
import { type HubProcess, startHubProcess, writeConfig } from './hub-process';
import { slackEvents } from './slack-events';

const TOKEN = 'xoxb-0000000000-FAKEsocketbottoken';
const APP_TOKEN = 'xapp-1-A00FAKEAPP01-0000-FAKEsocketapptoken';
const BOT = 'U00FAKEBOT01';
const USER = 'U00FAKEUSER1';

let slack: SlackEmulator;
let hub: HubProcess;
const { nextTs, eventCallback, dm } = slackEvents({
  bot: BOT,
  user: USER,
  firstTs: 1_768_000_000,
  eventIdPrefix: 'EvS',
});

const postedTo = (channel: string) => slack.posted.filter((message) => message.channel === channel);
const acked = (envelopeId: string) => slack.acks.some((ack) => ack.envelopeId === envelopeId);

beforeAll(async () => {
  slack = await new SlackEmulator({ token: TOKEN, appToken: APP_TOKEN, botUserId: BOT }).start();
  const config = writeConfig({
    database: { driver: 'pglite', dataDir: 'memory://' },
    outbound: { backoffMs: 50 },
    channels: [
      {
        id: 'slack-socket',
        type: 'slack',
        tenant: 'acme',
        botToken: '${SLACK_BOT_TOKEN}',
        socketMode: true,
        appToken: '${SLACK_APP_TOKEN}',
        apiUrl: slack.url,
      },
    ],
  });
  hub = await startHubProcess(config, [], { SLACK_BOT_TOKEN: TOKEN, SLACK_APP_TOKEN: APP_TOKEN });
  await until('the Socket Mode connection', () => slack.sockets.length === 1, 20_000);
});

afterAll(async () => {
  if (hub) expect(await hub.stop()).toBe(0);
  await slack?.stop();
});

describe('Slack over Socket Mode through the whole hub', () => {
  it('opens the connection with the app token and is ready once Slack said hello', async () => {
    const opens = slack.callsOf('apps.connections.open');
    expect(opens.length).toBeGreaterThanOrEqual(1);
    expect(opens.every((call) => call.status === 200)).toBe(true);
    await until('channel health', async () => (await fetch(`${hub.url}/healthz/channels`)).status === 200);
    const ready = (await (await fetch(`${hub.url}/readyz`)).json()) as { checks: Record<string, string> };
    expect(ready.checks['channel:slack-socket']).toBe('ok');
    // No HTTP endpoint in Socket Mode: nothing can be posted at the hub instead.
    const post = await fetch(`${hub.url}/webhooks/slack-socket`, { method: 'POST', body: '{}' });
    expect(post.status).toBe(404);
  });

  it('answers an event pushed over the socket with chat.postMessage, and acks the envelope', async () => {
    const envelopeId = slack.pushEnvelope(dm('D00SOCKDM001', 'How long does standard shipping take?'));
    await until('the ack', () => acked(envelopeId));
    await until('the answer on Slack', () => postedTo('D00SOCKDM001').length === 1);
    expect(postedTo('D00SOCKDM001')[0]?.text).toMatch(/day/i);
  });

  it('acks a redelivered envelope (same event_id) and answers once', async () => {
    const body = dm('D00SOCKDM002', 'Can I get an invoice?');
    const first = slack.pushEnvelope(body);
    await until('the first ack', () => acked(first));
    const redelivery = slack.pushEnvelope(body, { retryAttempt: 1 });
    await until('the redelivery ack', () => acked(redelivery));
    expect(redelivery).not.toBe(first);
    await until('the answer', () => postedTo('D00SOCKDM002').length >= 1);
    slack.pushEnvelope(dm('D00SOCKDM002', 'Which payment methods do you accept?'));
    await until('the second answer', () => postedTo('D00SOCKDM002').length >= 2);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(postedTo('D00SOCKDM002')).toHaveLength(2);
    expect(
      await counter(hub.url, 'hub_duplicates_dropped_total', { channel: 'slack-socket' }),
    ).toBeGreaterThanOrEqual(1);
  });

  it('takes a Block Kit button press as an `interactive` envelope', async () => {
    const envelopeId = slack.pushEnvelope(
      {
        type: 'block_actions',
        user: { id: USER, name: 'fake.user' },
        api_app_id: 'A00FAKEAPP01',
        team: { id: 'T00FAKE00AA' },
        channel: { id: 'D00SOCKDM003', name: 'directmessage' },
        container: { type: 'message', message_ts: '1768000000.000100', channel_id: 'D00SOCKDM003' },
        actions: [
          {
            action_id: 'shipping',
            type: 'button',
            value: 'shipping',
            text: { type: 'plain_text', text: 'Shipping times' },
            action_ts: '1768000001.000200',
          },
        ],
      },
      { type: 'interactive' },
    );
    await until('the ack', () => acked(envelopeId));
    await until('the answer to the action', () => postedTo('D00SOCKDM003').length === 1);
  });

  it('acks and ignores slash commands and its own echo', async () => {
    const before = slack.posted.length;
    const slash = slack.pushEnvelope(
      { command: '/help', text: '', user_id: USER },
      { type: 'slash_commands' },
    );
    const echo = slack.pushEnvelope(
      eventCallback({
        type: 'message',
        channel: 'D00SOCKDM004',
        channel_type: 'im',
        user: BOT,
        bot_id: 'B00FAKEBOT01',
        app_id: 'A00FAKEAPP01',
        text: 'How long does shipping take?',
        ts: nextTs(),
      }),
    );
    await until('both acks', () => acked(slash) && acked(echo));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(slack.posted.length).toBe(before);
  });

  it('reconnects when Slack asks it to, and keeps taking events', async () => {
    const opens = slack.callsOf('apps.connections.open').length;
    slack.requestReconnect();
    await until('a fresh connection', () => slack.callsOf('apps.connections.open').length > opens, 20_000);
    await until('one open socket', () => slack.sockets.length === 1);
    const envelopeId = slack.pushEnvelope(dm('D00SOCKDM005', 'Which payment methods do you accept?'));
    await until('the ack', () => acked(envelopeId));
    await until('the answer', () => postedTo('D00SOCKDM005').length === 1);
  }, 30_000);
});
