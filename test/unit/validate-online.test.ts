import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkChannelsOnline, formatOnlineResult, validateChannelOptions } from '../../connectors/validate';
import { parseConfig } from '../../core/config/load';
import { writeConfig } from '../e2e/hub-process';
import { OpenIdEmulator } from '../emulators/openid-emulator';
import { SlackEmulator } from '../emulators/slack-emulator';
import { TelegramEmulator } from '../emulators/telegram-emulator';
import { WhatsAppEmulator } from '../emulators/whatsapp-emulator';

const TG_TOKEN = '7000000077:FAKE_online_good_token_00';
const TG_WRONG = '7000000077:FAKE_online_WRONG_token_0';
const SLACK_TOKEN = 'xoxb-0000000000-FAKEonlinegoodtoken';
const SLACK_WRONG = 'xoxb-0000000000-FAKEonlinewrongtoken';
const APP_TOKEN = 'xapp-1-A00FAKEAPP01-0000-FAKEonlineapptoken';
const SECRET = 'FAKE_online_secret_token';
const SIGNING = 'FAKE_slack_signing_secret_000000';
const ROOT = join(import.meta.dirname, '..', '..');

const TEAMS_APP_ID = '00000000-0000-4000-8000-00000000f00d';
const TEAMS_PASSWORD = 'FAKE~online~teams~client~secret';
const TEAMS_WRONG = 'FAKE~online~teams~WRONG~secret0';
const WA_TOKEN = 'EAAFAKEonlineWhatsappToken0000000000';
const WA_WRONG = 'EAAFAKEonlineWhatsappWRONG0000000000';
const WA_PHONE = '100000000000055';
const WA_SECRET = 'FAKE_meta_app_secret_online_0000';

let telegram: TelegramEmulator;
let slack: SlackEmulator;
let openid: OpenIdEmulator;
let graph: WhatsAppEmulator;

beforeAll(async () => {
  telegram = await new TelegramEmulator({ token: TG_TOKEN, botUsername: 'OnlineBot' }).start();
  slack = await new SlackEmulator({ token: SLACK_TOKEN, appToken: APP_TOKEN }).start();
  openid = await new OpenIdEmulator({ appId: TEAMS_APP_ID, appPassword: TEAMS_PASSWORD }).start();
  graph = await new WhatsAppEmulator({
    accessToken: WA_TOKEN,
    phoneNumberId: WA_PHONE,
    displayPhoneNumber: '+1 555-000-5555',
  }).start();
});

afterAll(async () => {
  await telegram?.stop();
  await slack?.stop();
  await openid?.stop();
  await graph?.stop();
});

const teams = (id: string, appPassword: string, extra: Record<string, unknown> = {}) => ({
  id,
  type: 'teams',
  appId: TEAMS_APP_ID,
  appPassword,
  allowedTenants: ['*'],
  tokenEndpoint: openid.tokenEndpoint(),
  openIdMetadataUrl: openid.metadataUrl,
  ...extra,
});
const wa = (id: string, accessToken: string, extra: Record<string, unknown> = {}) => ({
  id,
  type: 'whatsapp',
  phoneNumberId: WA_PHONE,
  accessToken,
  appSecret: WA_SECRET,
  verifyToken: 'FAKE_verify_online',
  graphApiUrl: graph.url,
  ...extra,
});

const tg = (id: string, botToken: string, extra: Record<string, unknown> = {}) => ({
  id,
  type: 'telegram',
  botToken,
  secretToken: SECRET,
  apiRoot: telegram.url,
  ...extra,
});
const sl = (id: string, botToken: string, extra: Record<string, unknown> = {}) => ({
  id,
  type: 'slack',
  botToken,
  signingSecret: SIGNING,
  apiUrl: slack.url,
  ...extra,
});

describe('hub validate --online', () => {
  it('passes good credentials and fails bad ones with the reason and the fix, never the secret', async () => {
    const config = parseConfig({
      channels: [
        { id: 'rest', type: 'rest' },
        tg('tg-good', TG_TOKEN),
        tg('tg-wrong', TG_WRONG),
        tg('tg-other-bot', TG_TOKEN, { botUsername: 'SomeoneElseBot' }),
        tg('tg-down', TG_WRONG, { apiRoot: 'http://127.0.0.1:9' }),
        sl('slack-good', SLACK_TOKEN),
        sl('slack-wrong', SLACK_WRONG),
        sl('slack-socket', SLACK_TOKEN, { socketMode: true, appToken: APP_TOKEN }),
        sl('slack-socket-wrong-app', SLACK_TOKEN, {
          socketMode: true,
          appToken: 'xapp-1-A00FAKEAPP01-0000-FAKEwrongapptoken',
        }),
        { id: 'tg-off', type: 'telegram', enabled: false, botToken: TG_WRONG },
      ],
    });
    const results = await checkChannelsOnline(config, { timeoutMs: 5_000 });
    const byId = Object.fromEntries(results.map((result) => [result.channel, result]));
    expect(results.map((result) => result.channel)).not.toContain('tg-off');
    expect(byId.rest).toMatchObject({ outcome: 'skipped' });
    expect(byId['tg-good']).toMatchObject({ outcome: 'ok', detail: 'bot @OnlineBot' });
    expect(byId['tg-wrong']?.outcome).toBe('failed');
    expect(byId['tg-wrong']?.detail).toMatch(/getMe: 401 Unauthorized.*Fix: .*TELEGRAM_BOT_TOKEN/);
    expect(byId['tg-other-bot']?.detail).toMatch(/belongs to @OnlineBot, not botUsername @SomeoneElseBot/);
    expect(byId['tg-down']).toMatchObject({ outcome: 'failed' });
    expect(byId['tg-down']?.detail).toMatch(/no answer from http:\/\/127\.0\.0\.1:9/);
    expect(byId['slack-good']).toMatchObject({ outcome: 'ok' });
    expect(byId['slack-wrong']?.detail).toMatch(/^auth\.test: invalid_auth .*Fix: .*SLACK_BOT_TOKEN/);
    expect(byId['slack-socket']).toMatchObject({ outcome: 'ok' });
    expect(byId['slack-socket']?.detail).toContain('Socket Mode token ok');
    expect(byId['slack-socket-wrong-app']?.detail).toMatch(
      /^apps\.connections\.open: invalid_auth.*SLACK_APP_TOKEN/,
    );
    const lines = results.map(formatOnlineResult).join('\n');
    for (const secret of [TG_TOKEN, TG_WRONG, SLACK_TOKEN, SLACK_WRONG, APP_TOKEN, SECRET, SIGNING])
      expect(lines).not.toContain(secret);
    expect(lines).toContain('tg-wrong (telegram): FAILED: getMe: 401');
  });

  it('reports a malformed channel block as a failure of that channel only', async () => {
    const config = parseConfig({
      channels: [tg('tg-good', TG_TOKEN), { id: 'slack-half', type: 'slack', botToken: SLACK_TOKEN }],
    });
    const results = await checkChannelsOnline(config);
    expect(results[0]?.outcome).toBe('ok');
    expect(results[1]?.outcome).toBe('failed');
    expect(formatOnlineResult(results[1] as (typeof results)[number])).toMatch(
      /slack-half \(slack\): FAILED: .*signingSecret: is missing/,
    );
  });

  it('the command prints one line per channel and exits 1 when any fails', async () => {
    const file = writeConfig({
      channels: [
        { ...tg('tg-good', '${TG_GOOD}') },
        { ...sl('slack-wrong', '${SLACK_WRONG}'), signingSecret: '${SLACK_SIGNING_SECRET}' },
      ],
    });
    const run = (env: Record<string, string>) =>
      new Promise<{ code: number | null; output: string }>((resolve) => {
        const child = spawn(process.execPath, [join(ROOT, 'bin', 'hub.mjs'), 'validate', '--online', file], {
          cwd: ROOT,
          env: { ...process.env, NODE_ENV: 'test', ...env },
        });
        let output = '';
        child.stdout.on('data', (chunk) => {
          output += chunk;
        });
        child.stderr.on('data', (chunk) => {
          output += chunk;
        });
        child.on('exit', (code) => resolve({ code, output }));
      });
    const failing = await run({ TG_GOOD: TG_TOKEN, SLACK_WRONG: SLACK_WRONG, SLACK_SIGNING_SECRET: SIGNING });
    expect(failing.code).toBe(1);
    expect(failing.output).toContain(`${file} is valid.`);
    expect(failing.output).toMatch(/^tg-good \(telegram\): ok — bot @OnlineBot$/m);
    expect(failing.output).toMatch(/^slack-wrong \(slack\): FAILED: auth\.test: invalid_auth/m);
    for (const secret of [TG_TOKEN, SLACK_WRONG, SIGNING]) expect(failing.output).not.toContain(secret);
    const passing = await run({ TG_GOOD: TG_TOKEN, SLACK_WRONG: SLACK_TOKEN, SLACK_SIGNING_SECRET: SIGNING });
    expect(passing.code).toBe(0);
    expect(passing.output).toMatch(/^slack-wrong \(slack\): ok — bot fakehubbot in Fake Workspace$/m);
  }, 60_000);

  it('checks Teams (client-credentials token, OpenID metadata and keys) and WhatsApp (phone number object)', async () => {
    const tokenRequests = openid.tokenRequests.length;
    const config = parseConfig({
      channels: [
        teams('teams-good', TEAMS_PASSWORD),
        teams('teams-wrong', TEAMS_WRONG),
        teams('teams-no-metadata', TEAMS_PASSWORD, { openIdMetadataUrl: `${openid.url}/v1/missing` }),
        teams('teams-down', TEAMS_PASSWORD, { tokenEndpoint: 'http://127.0.0.1:9/common/oauth2/v2.0/token' }),
        wa('wa-good', WA_TOKEN),
        wa('wa-wrong', WA_WRONG),
        wa('wa-other-number', WA_TOKEN, { phoneNumberId: '100000000000099' }),
        wa('wa-down', WA_TOKEN, { graphApiUrl: 'http://127.0.0.1:9' }),
        { id: 'wweb', type: 'whatsapp-web' },
      ],
    });
    const results = await checkChannelsOnline(config, { timeoutMs: 5_000 });
    const byId = Object.fromEntries(results.map((result) => [result.channel, result]));
    expect(byId['teams-good']).toMatchObject({
      outcome: 'ok',
      detail: `bot token ok, 2 signing keys from ${openid.url}`,
    });
    expect(
      openid.tokenRequests
        .slice(tokenRequests)
        .map((request) => request.status)
        .sort(),
    ).toEqual([200, 200, 401]);
    expect(byId['teams-wrong']?.outcome).toBe('failed');
    expect(byId['teams-wrong']?.detail).toMatch(
      /^bot token from http:\/\/127\.0\.0\.1:\d+: .*invalid_client.*Fix: .*TEAMS_APP_PASSWORD/,
    );
    expect(byId['teams-no-metadata']?.detail).toMatch(/^OpenID metadata: HTTP 404 .*Fix: /);
    expect(byId['teams-down']?.detail).toMatch(
      /^bot token: no answer from http:\/\/127\.0\.0\.1:9\. Fix: check tokenEndpoint/,
    );
    expect(byId['wa-good']).toMatchObject({
      outcome: 'ok',
      detail: 'number +1 555-000-5555 (Fake Hub Shop)',
    });
    expect(byId['wa-wrong']?.detail).toMatch(/^GET \/v23\.0\/100000000000055: 401 \(#190\).*Fix: .*WA_TOKEN/);
    expect(byId['wa-other-number']?.detail).toMatch(
      /100000000000099: 400 \(#100\).*Fix: copy the "Phone number ID"/,
    );
    expect(byId['wa-down']?.detail).toMatch(
      /no answer from http:\/\/127\.0\.0\.1:9 .*Fix: check graphApiUrl/,
    );
    expect(byId.wweb).toMatchObject({ outcome: 'skipped', detail: 'pairs by QR at start' });
    const lines = results.map(formatOnlineResult).join('\n');
    expect(lines).toContain('wweb (whatsapp-web): skipped (pairs by QR at start)');
    for (const secret of [TEAMS_PASSWORD, TEAMS_WRONG, WA_TOKEN, WA_WRONG, WA_SECRET])
      expect(lines).not.toContain(secret);
  });

  it('tells a throttled or unavailable Microsoft identity platform from wrong credentials', async () => {
    const config = parseConfig({ channels: [teams('teams-good', TEAMS_PASSWORD)] });
    openid.failTokenNext(429, 1, 7);
    const throttled = await checkChannelsOnline(config, { timeoutMs: 5_000 });
    expect(throttled[0]?.detail).toMatch(
      /throttling or unavailable \(temporarily_unavailable\)\. Fix: retry later\.$/,
    );
    openid.unavailable = true;
    try {
      const down = await checkChannelsOnline(config, { timeoutMs: 5_000 });
      expect(down[0]).toMatchObject({ outcome: 'failed' });
      expect(down[0]?.detail).toMatch(/^OpenID metadata: HTTP 503 .*Fix: retry later/);
    } finally {
      openid.unavailable = false;
    }
    expect((await checkChannelsOnline(config, { timeoutMs: 5_000 }))[0]?.outcome).toBe('ok');
  });
});

describe('hub validate (offline): each channel through its own option schema', () => {
  const teamsBlock = {
    id: 'teams',
    type: 'teams',
    appId: TEAMS_APP_ID,
    appPassword: TEAMS_PASSWORD,
    allowedTenants: ['*'],
  };
  const waBlock = {
    id: 'wa',
    type: 'whatsapp',
    phoneNumberId: WA_PHONE,
    accessToken: WA_TOKEN,
    appSecret: WA_SECRET,
    verifyToken: 'FAKE_verify_online',
  };

  it('reports every broken enabled channel with its keys and fixes, and passes good ones', () => {
    const good = parseConfig({ channels: [{ id: 'rest', type: 'rest' }, teamsBlock, waBlock] });
    expect(() => validateChannelOptions(good)).not.toThrow();
    const bad = parseConfig({
      channels: [
        { ...teamsBlock, appId: 'my-bot' },
        { ...waBlock, phoneNumberId: '+1 555 000 5555' },
        { id: 'wweb', type: 'whatsapp-web', adminToken: 'FAKE_admin_token_0123456789' },
        { ...teamsBlock, id: 'teams-off', enabled: false, appId: 'also-wrong' },
        {
          id: 'slack',
          type: 'slack',
          botToken: 'xoxb-0000000000-FAKEonlinegoodtoken',
          signingSecret: SIGNING,
        },
      ],
    });
    let message = '';
    try {
      validateChannelOptions(bad);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(
      /^channel "teams" \(teams\) is not configured correctly:\n {2}- appId: is not a Microsoft App ID \(a GUID\)\. Fix: .*TEAMS_APP_ID/,
    );
    expect(message).toMatch(
      /channel "wa" \(whatsapp\) is not configured correctly:\n {2}- phoneNumberId: is not a phone number id/,
    );
    expect(message).toMatch(
      /channel "wweb" \(whatsapp-web\).*\n {2}- adminToken: is no longer a channel option/,
    );
    expect(message).not.toContain('teams-off');
    expect(message).not.toContain('"slack"');
    expect(message.match(/README\.md/g)).toHaveLength(1);
    expect(message).not.toContain('FAKE_admin_token_0123456789');
  });

  it('`hub validate FILE` exits 1 naming the channel, before anything is started', async () => {
    const file = writeConfig({ channels: [{ ...teamsBlock, appId: 'my-bot', appPassword: '${TEAMS_PW}' }] });
    const result = await new Promise<{ code: number | null; output: string }>((resolve) => {
      const child = spawn(process.execPath, [join(ROOT, 'bin', 'hub.mjs'), 'validate', file], {
        cwd: ROOT,
        env: { ...process.env, NODE_ENV: 'test', TEAMS_PW: TEAMS_PASSWORD },
      });
      let output = '';
      child.stdout.on('data', (chunk) => {
        output += chunk;
      });
      child.stderr.on('data', (chunk) => {
        output += chunk;
      });
      child.on('exit', (code) => resolve({ code, output }));
    });
    expect(result.code).toBe(1);
    expect(result.output).toMatch(
      /hub: channel "teams" \(teams\) is not configured correctly:\n {2}- appId:/,
    );
    expect(result.output).not.toContain('is valid');
    expect(result.output).not.toContain(TEAMS_PASSWORD);
  }, 60_000);
});
