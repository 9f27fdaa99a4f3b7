import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpenIdEmulator } from '../emulators/openid-emulator';
import { TeamsEmulator } from '../emulators/teams-emulator';
import { counter, until } from './channel-helpers';
import { type HubProcess, startHubProcess, writeConfig } from './hub-process';

/**
 * Microsoft Teams through a real `hub start`: activities signed with the OpenID emulator's key (token
 * validation stays on), answers posted to the Bot Connector emulator at each activity's serviceUrl
 * with a client-credentials token, on PostgreSQL.
 */
const APP_ID = '11111111-2222-3333-4444-555555555555';
const APP_PASSWORD = 'FAKE~e2e~teams~client~secret';
const TENANT = 'a1b2c3d4-e5f6-7890-abcd-ef1234567890';
const OTHER_TENANT = 'ffffffff-e5f6-7890-abcd-ef1234567890';
const BOT = `28:${APP_ID}`;
const ADMIN_URL = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const database = `hub_teams_${randomBytes(4).toString('hex')}`;

let openid: OpenIdEmulator;
let teams: TeamsEmulator;
let hub: HubProcess;
let nextId = 1_767_400_000_000;

const serviceUrl = () => `${teams.url}/amer/${TENANT}/`;

function message(conversation: string, text: string, extra: Record<string, unknown> = {}) {
  return {
    type: 'message',
    id: String(++nextId),
    timestamp: new Date().toISOString(),
    channelId: 'msteams',
    serviceUrl: serviceUrl(),
    from: { id: `29:user-${conversation}`, name: 'Ann', aadObjectId: '00000000-1111-2222-3333-444444444444' },
    recipient: { id: BOT, name: 'Fake Hub Bot' },
    conversation: { id: conversation, conversationType: 'personal', tenantId: TENANT },
    channelData: { tenant: { id: TENANT } },
    text,
    textFormat: 'plain',
    locale: 'en-US',
    ...extra,
  };
}

const post = (
  activity: Record<string, unknown>,
  token = openid.signChannelToken({ serviceUrl: serviceUrl() }),
) =>
  fetch(`${hub.url}/webhooks/teams-support`, {
    method: 'POST',
    headers: { 'content-type': 'application/json; charset=utf-8', authorization: `Bearer ${token}` },
    body: JSON.stringify(activity),
  });

const answers = (conversation: string) =>
  teams.postedTo(conversation).filter((p) => p.activity.type === 'message');

async function adminQuery(text: string) {
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(text);
  } finally {
    await admin.end();
  }
}

beforeAll(async () => {
  openid = await new OpenIdEmulator({ appId: APP_ID, appPassword: APP_PASSWORD }).start();
  teams = await new TeamsEmulator({ verifyToken: (token) => openid.verifyAccessToken(token) }).start();
  await adminQuery(`create database ${database}`);
  const config = writeConfig({
    database: { driver: 'postgres', url: ADMIN_URL.replace(/\/[^/]*$/, `/${database}`) },
    outbound: { backoffMs: 50 },
    channels: [
      { id: 'rest', type: 'rest' },
      {
        id: 'teams-support',
        type: 'teams',
        appId: '${TEAMS_APP_ID}',
        appPassword: '${TEAMS_APP_PASSWORD}',
        allowedTenants: [TENANT],
        openIdMetadataUrl: openid.metadataUrl,
        tokenEndpoint: openid.tokenEndpoint(),
        serviceUrl: `${teams.url}/teams/`,
      },
    ],
  });
  hub = await startHubProcess(config, [], { TEAMS_APP_ID: APP_ID, TEAMS_APP_PASSWORD: APP_PASSWORD });
});

afterAll(async () => {
  if (hub) expect(await hub.stop()).toBe(0);
  await teams?.stop();
  await openid?.stop();
  await adminQuery(`drop database if exists ${database} with (force)`);
});

describe('Teams channel through the whole hub', () => {
  it('answers a signed activity at its serviceUrl, and is ready', async () => {
    const conversation = 'a:1FakeE2eConversation0001';
    expect((await post(message(conversation, 'How long does standard shipping take?'))).status).toBe(200);
    await until('the answer on Teams', () => answers(conversation).length === 1);
    const [answer] = answers(conversation);
    expect(answer?.prefix).toBe(`/amer/${TENANT}/`);
    expect(String(answer?.activity.text)).toMatch(/day/i);
    const ready = (await (await fetch(`${hub.url}/readyz`)).json()) as { checks: Record<string, string> };
    expect(ready.checks['channel:teams-support']).toBe('ok');
    // One client-credentials token serves every call until it nears expiry.
    expect(openid.tokenRequests.filter((r) => r.status === 200)).toHaveLength(1);
  });

  it('answers a redelivered activity once', async () => {
    const conversation = 'a:1FakeE2eConversation0002';
    const first = message(conversation, 'Can I get an invoice?');
    expect((await post(first)).status).toBe(200);
    expect((await post(first)).status).toBe(200);
    // Same conversation, in order: once the next answer is out, a duplicate would have been answered too.
    expect((await post(message(conversation, 'Which payment methods do you accept?'))).status).toBe(200);
    await until('two answers', () => answers(conversation).length >= 2);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(answers(conversation)).toHaveLength(2);
    expect(
      await counter(hub.url, 'hub_webhook_requests_total', {
        channel: 'teams-support',
        outcome: 'duplicate',
      }),
    ).toBeGreaterThanOrEqual(1);
  });

  it('waits out a 429 Retry-After and still delivers', async () => {
    const conversation = 'a:1FakeE2eConversation0003';
    teams.failNext({ status: 429, retryAfter: 1 });
    await post(message(conversation, 'Which payment methods do you accept?'));
    await until('the delayed answer', () => answers(conversation).length === 1);
    const attempts = teams.callsTo(conversation);
    expect(attempts.map((call) => call.status)).toEqual([429, 201]);
    expect((attempts[1]?.at ?? 0) - (attempts[0]?.at ?? 0)).toBeGreaterThanOrEqual(950);
  });

  it('replies in the channel thread it was mentioned in, and answers an Action.Execute synchronously', async () => {
    const channel = '19:fakechannelE2E@thread.tacv2';
    const root = String(nextId + 1);
    const mention = message(`${channel};messageid=${root}`, '<at>Fake Hub Bot</at> Can I get an invoice?', {
      id: root,
      conversation: {
        id: `${channel};messageid=${root}`,
        conversationType: 'channel',
        isGroup: true,
        tenantId: TENANT,
      },
      entities: [
        { type: 'mention', text: '<at>Fake Hub Bot</at>', mentioned: { id: BOT, name: 'Fake Hub Bot' } },
      ],
      channelData: { tenant: { id: TENANT }, team: { id: '19:team@thread.tacv2' }, channel: { id: channel } },
    });
    nextId++;
    expect((await post(mention)).status).toBe(200);
    await until('the answer in the thread', () => answers(`${channel};messageid=${root}`).length === 1);
    const invoke = await post(
      message('a:1FakeE2eConversation0004', '', {
        type: 'invoke',
        name: 'adaptiveCard/action',
        text: undefined,
        value: { action: { type: 'Action.Execute', verb: 'shipping', data: {} }, trigger: 'manual' },
      }),
    );
    expect(invoke.status).toBe(200);
    expect(await invoke.json()).toMatchObject({
      statusCode: 200,
      type: 'application/vnd.microsoft.activity.message',
    });
  });

  it('refuses a forged token with 401 and a tenant not allowed with 403, and answers neither', async () => {
    const forgedConversation = 'a:1FakeE2eForged';
    const forged = message(forgedConversation, 'forged');
    expect(
      (await post(forged, openid.signChannelToken({ serviceUrl: serviceUrl() }, { key: 'rogue' }))).status,
    ).toBe(401);
    expect(
      (
        await post(
          forged,
          openid.signChannelToken({ serviceUrl: serviceUrl(), aud: 'https://api.botframework.com' }),
        )
      ).status,
    ).toBe(401);
    const outsider = 'a:1FakeE2eOtherTenant';
    const other = message(outsider, 'How long does standard shipping take?', {
      conversation: { id: outsider, conversationType: 'personal', tenantId: OTHER_TENANT },
      channelData: { tenant: { id: OTHER_TENANT } },
    });
    expect((await post(other)).status).toBe(403);
    // Malformed bodies are refused too, and the hub keeps serving.
    const garbage = await fetch(`${hub.url}/webhooks/teams-support`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${openid.signChannelToken({ serviceUrl: serviceUrl() })}`,
      },
      body: '{"type": "message", ',
    });
    expect(garbage.status).toBe(400);
    // A later answer elsewhere shows the hub went on; nothing reached the refused conversations.
    const control = 'a:1FakeE2eControl';
    await post(message(control, 'Can I get an invoice?'));
    await until('the control answer', () => answers(control).length === 1);
    expect(teams.postedTo(forgedConversation)).toHaveLength(0);
    expect(teams.postedTo(outsider)).toHaveLength(0);
    expect(
      await counter(hub.url, 'hub_webhook_requests_total', {
        channel: 'teams-support',
        outcome: 'forbidden',
      }),
    ).toBe(1);
  });
});
