import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../config/load';
import { checkChannelsOnline, formatOnlineResult } from '../../connectors/validate';
import { writeConfig } from '../e2e/hub-process';
import { SlackEmulator } from '../emulators/slack-emulator';
import { TelegramEmulator } from '../emulators/telegram-emulator';

const TG_TOKEN = '7000000077:FAKE_online_good_token_00';
const TG_WRONG = '7000000077:FAKE_online_WRONG_token_0';
const SLACK_TOKEN = 'xoxb-0000000000-FAKEonlinegoodtoken';
const SLACK_WRONG = 'xoxb-0000000000-FAKEonlinewrongtoken';
const APP_TOKEN = 'xapp-1-A00FAKEAPP01-0000-FAKEonlineapptoken';
const SECRET = 'FAKE_online_secret_token';
const SIGNING = 'FAKE_slack_signing_secret_000000';
const ROOT = join(import.meta.dirname, '..', '..');

let telegram: TelegramEmulator;
let slack: SlackEmulator;

beforeAll(async () => {
  telegram = await new TelegramEmulator({ token: TG_TOKEN, botUsername: 'OnlineBot' }).start();
  slack = await new SlackEmulator({ token: SLACK_TOKEN, appToken: APP_TOKEN }).start();
});

afterAll(async () => {
  await telegram?.stop();
  await slack?.stop();
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
});
