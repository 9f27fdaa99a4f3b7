import fc from 'fast-check';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type RunningHub, startHub } from '../../app/hub';
import { signSlack } from '../../connectors/slack/verify';
import { signWhatsApp } from '../../connectors/whatsapp/verify';
import { hubConfigSchema } from '../../core/config/schema';
import type { KyselyStore } from '../../core/store';
import { OpenIdEmulator } from '../emulators/openid-emulator';
import { SlackEmulator } from '../emulators/slack-emulator';
import { TeamsEmulator } from '../emulators/teams-emulator';
import { TelegramEmulator } from '../emulators/telegram-emulator';
import { WhatsAppEmulator } from '../emulators/whatsapp-emulator';
import { until } from './channel-helpers';

/**
 * A bounded HTTP fuzz run against a started hub (embedded: PGlite in memory, in-memory bus,
 * extractive answers; every platform an emulator on loopback): every ingress — REST, web chat
 * frames, and the Telegram, Slack, WhatsApp and Teams webhooks, signed with test secrets — gets
 * malformed bodies (invalid, too deep, too large, arbitrary JSON, real payloads with fields of the
 * wrong type) and well-formed but odd messages (NUL, control characters, lone surrogates, huge
 * Unicode, JSON nested deep but within the limit). Nothing may answer 5xx, nothing may be
 * dead-lettered, and every odd message that was accepted must be answered. The counts are printed.
 */
const TG_TOKEN = '7000000001:FAKE_fuzz_token_0123456789';
const TG_SECRET = 'FAKE_tg_secret_token-0123456789_abc';
const SLACK_TOKEN = 'xoxb-FAKE-fuzz';
const SLACK_SECRET = 'FAKE_slack_signing_secret_000000';
const SLACK_BOT = 'U00FAKEBOT01';
const WA_TOKEN = 'EAAFAKEfuzzTOKEN0123456789abcdefABCDEF0123456789';
const WA_SECRET = 'FAKE_meta_app_secret_00000000000';
const WA_PHONE = '100000000000001';
const TEAMS_APP = '11111111-2222-3333-4444-555555555555';
const TEAMS_TENANT = 'a1b2c3d4-e5f6-7890-abcd-ef1234567890';
const BODY_LIMIT = 256 * 1024;

let hub: RunningHub;
let url: string;
let telegram: TelegramEmulator;
let slack: SlackEmulator;
let whatsapp: WhatsAppEmulator;
let openid: OpenIdEmulator;
let teams: TeamsEmulator;

const counts = { requests: 0, '2xx': 0, '4xx': 0, '5xx': 0, accepted: 0, answered: 0 };
const fiveHundreds: string[] = [];

function tally(what: string, status: number): number {
  counts.requests++;
  if (status >= 500) {
    counts['5xx']++;
    fiveHundreds.push(`${what}: ${status}`);
  } else if (status >= 400) counts['4xx']++;
  else if (status >= 200 && status < 300) counts['2xx']++;
  return status;
}

/** `[[[…1…]]]` nested `depth` levels. */
const nested = (depth: number) => `${'['.repeat(depth)}1${']'.repeat(depth)}`;
/** `{"d":{"d":…}}` nested `depth` levels, as text (JSON.stringify itself would run out of stack). */
const nestedText = (depth: number) => `${'{"d":'.repeat(depth)}1${'}'.repeat(depth)}`;
/** An object nested `depth` levels, for a field the platform does not define. */
const nestedObject = (depth: number): unknown => {
  let value: unknown = 'deep';
  for (let i = 0; i < depth; i++) value = { d: value };
  return value;
};

/** Well-formed but odd things customers send; each must be answered. */
const ODD_TEXTS = [
  'hello\u0000world, how long does shipping take?',
  'ship\u0001\u0002\u0007\u001b[31mping\u007f time?',
  'Can I get\r\nan invoice?\r',
  '\ud800 lone surrogate: which payment methods do you accept? \udfff',
  `${'退货运费谁承担？😀'.repeat(300)}`,
  '\u202eRTL override\u200b zero width\ufeff: how do I return an item?',
  // Nothing left once cleaned: still a message, still answered.
  '\u0000\u0001\u0002',
];
/** Deep but within server.maxJsonDepth (64), in a field the platform does not define. */
const DEEP_ALLOWED = nestedObject(40);

/** Arbitrary JSON bodies, the same every run. */
const ARBITRARY = fc.sample(fc.jsonValue({ maxDepth: 4 }), { seed: 20261206, numRuns: 15 });
const WRONG_TYPES = [5, null, true, [], {}, { id: 1 }, 'x'.repeat(10), [null]];

beforeAll(async () => {
  telegram = await new TelegramEmulator({ token: TG_TOKEN, botUsername: 'FakeHubBot' }).start();
  slack = await new SlackEmulator({
    token: SLACK_TOKEN,
    botUserId: SLACK_BOT,
    botId: 'B00FAKEBOT01',
  }).start();
  whatsapp = await new WhatsAppEmulator({ accessToken: WA_TOKEN, phoneNumberId: WA_PHONE }).start();
  openid = await new OpenIdEmulator({ appId: TEAMS_APP, appPassword: 'FAKE~fuzz~secret' }).start();
  teams = await new TeamsEmulator({ verifyToken: (token) => openid.verifyAccessToken(token) }).start();
  hub = await startHub(
    hubConfigSchema.parse({
      server: { host: '127.0.0.1', port: 0, replyTimeoutMs: 20_000, bodyLimitBytes: BODY_LIMIT },
      database: { driver: 'pglite', dataDir: 'memory://' },
      outbound: { backoffMs: 50 },
      ticketing: { driver: 'demo', outbox: { pollMs: 100, leaseMs: 500, backoffMs: 100 } },
      channels: [
        { id: 'rest', type: 'rest', auth: 'none' },
        { id: 'webchat', type: 'webchat' },
        { id: 'tg', type: 'telegram', botToken: TG_TOKEN, secretToken: TG_SECRET, apiRoot: telegram.url },
        { id: 'sl', type: 'slack', botToken: SLACK_TOKEN, signingSecret: SLACK_SECRET, apiUrl: slack.url },
        {
          id: 'wa',
          type: 'whatsapp',
          phoneNumberId: WA_PHONE,
          accessToken: WA_TOKEN,
          appSecret: WA_SECRET,
          verifyToken: 'FAKE_verify',
          graphApiUrl: whatsapp.url,
        },
        {
          id: 'tm',
          type: 'teams',
          appId: TEAMS_APP,
          appPassword: 'FAKE~fuzz~secret',
          allowedTenants: [TEAMS_TENANT],
          openIdMetadataUrl: openid.metadataUrl,
          tokenEndpoint: openid.tokenEndpoint(),
          serviceUrl: `${teams.url}/teams/`,
        },
      ],
    }),
  );
  url = hub.url ?? '';
}, 180_000);

afterAll(async () => {
  await hub?.stop();
  await Promise.all([telegram?.stop(), slack?.stop(), whatsapp?.stop(), openid?.stop(), teams?.stop()]);
});

// Each platform: how to sign a body, a DM of `text` from customer `n`, and where its answer shows.
type Body = string;
interface Platform {
  id: string;
  post(body: Body): Promise<number>;
  dm(n: number, text: string): Record<string, unknown>;
  answered(n: number): boolean;
}

let sequence = 1_000;
const postRaw = async (what: string, path: string, body: Body, headers: Record<string, string>) => {
  const response = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
  await response.arrayBuffer();
  return tally(what, response.status);
};

const platforms = (): Platform[] => [
  {
    id: 'tg',
    post: (body) =>
      postRaw('telegram', '/webhooks/tg', body, { 'x-telegram-bot-api-secret-token': TG_SECRET }),
    dm: (n, text) => ({
      update_id: ++sequence,
      message: {
        message_id: sequence,
        from: { id: 50_000 + n, is_bot: false, first_name: 'Fuzz' },
        chat: { id: 50_000 + n, type: 'private' },
        date: Math.floor(Date.now() / 1000),
        text,
        x_extra: DEEP_ALLOWED,
      },
    }),
    answered: (n) => telegram.sent.some((m) => m.chat_id === String(50_000 + n)),
  },
  {
    id: 'sl',
    post: (body) => {
      const timestamp = String(Math.floor(Date.now() / 1000));
      return postRaw('slack', '/webhooks/sl', body, {
        'x-slack-request-timestamp': timestamp,
        'x-slack-signature': signSlack(SLACK_SECRET, timestamp, body),
      });
    },
    dm: (n, text) => {
      const ts = `${1_767_000_000 + ++sequence}.000100`;
      return {
        type: 'event_callback',
        team_id: 'T00FAKE00AA',
        api_app_id: 'A00FAKEAPP01',
        event_id: `EvFuzz${sequence}`,
        authorizations: [{ team_id: 'T00FAKE00AA', user_id: SLACK_BOT, is_bot: true }],
        event: {
          type: 'message',
          channel: `D0FUZZ${n}`,
          channel_type: 'im',
          user: `U0FUZZ${n}`,
          text,
          ts,
          x_extra: DEEP_ALLOWED,
        },
      };
    },
    answered: (n) => slack.posted.some((m) => m.channel === `D0FUZZ${n}`),
  },
  {
    id: 'wa',
    post: (body) =>
      postRaw('whatsapp', '/webhooks/wa', body, { 'x-hub-signature-256': signWhatsApp(WA_SECRET, body) }),
    dm: (n, text) => ({
      object: 'whatsapp_business_account',
      entry: [
        {
          id: '100000000000002',
          changes: [
            {
              field: 'messages',
              value: {
                messaging_product: 'whatsapp',
                metadata: { display_phone_number: '15550001111', phone_number_id: WA_PHONE },
                contacts: [{ wa_id: `1555009${String(n).padStart(4, '0')}`, profile: { name: 'Fuzz' } }],
                messages: [
                  {
                    from: `1555009${String(n).padStart(4, '0')}`,
                    id: `wamid.FUZZ_${++sequence}`,
                    timestamp: String(Math.floor(Date.now() / 1000)),
                    type: 'text',
                    text: { body: text },
                    x_extra: DEEP_ALLOWED,
                  },
                ],
              },
            },
          ],
        },
      ],
    }),
    answered: (n) => whatsapp.sent.some((m) => m.to === `1555009${String(n).padStart(4, '0')}`),
  },
  {
    id: 'tm',
    post: (body) =>
      postRaw('teams', '/webhooks/tm', body, {
        authorization: `Bearer ${openid.signChannelToken({ serviceUrl: `${teams.url}/amer/${TEAMS_TENANT}/` })}`,
      }),
    dm: (n, text) => ({
      type: 'message',
      id: String(++sequence),
      timestamp: new Date().toISOString(),
      channelId: 'msteams',
      serviceUrl: `${teams.url}/amer/${TEAMS_TENANT}/`,
      from: { id: `29:fuzz-${n}`, name: 'Fuzz' },
      recipient: { id: `28:${TEAMS_APP}`, name: 'Fake Hub Bot' },
      conversation: { id: `a:fuzz-${n}`, conversationType: 'personal', tenantId: TEAMS_TENANT },
      channelData: { tenant: { id: TEAMS_TENANT }, x_extra: DEEP_ALLOWED },
      text,
    }),
    answered: (n) => teams.postedTo(`a:fuzz-${n}`).some((p) => p.activity.type === 'message'),
  },
];

/** Replace the value at a path of a copy of `value`. */
function withField(value: Record<string, unknown>, path: string[], replacement: unknown) {
  const copy = structuredClone(value);
  let parent: Record<string, unknown> = copy;
  for (const key of path.slice(0, -1)) parent = parent[key] as Record<string, unknown>;
  parent[path[path.length - 1] as string] = replacement;
  return copy;
}

/** The fields of each platform's DM the connector reads, for wrong-type mutations. */
const FIELDS: Record<string, string[][]> = {
  tg: [
    ['message'],
    ['message', 'text'],
    ['message', 'chat'],
    ['message', 'from'],
    ['message', 'entities'],
    ['update_id'],
  ],
  sl: [
    ['event'],
    ['event', 'text'],
    ['event', 'user'],
    ['event', 'channel'],
    ['event', 'ts'],
    ['event', 'files'],
  ],
  wa: [['entry'], ['object']],
  tm: [['text'], ['from'], ['entities'], ['attachments'], ['conversation'], ['value']],
};

describe('bounded HTTP fuzz against a started hub', () => {
  it('answers malformed input with 2xx/4xx only, dead-letters nothing, and answers every odd message', async () => {
    const expected: Array<{ what: string; answered: () => boolean }> = [];

    // REST: malformed bodies.
    const rest = (body: Body, type = 'application/json') =>
      postRaw('rest', '/webhooks/rest', body, { 'content-type': type });
    expect(await rest(nested(10_000))).toBe(400);
    expect(await rest(`{"sender":"deep","message":"hi","metadata":${nestedText(10_000)}}`)).toBe(400);
    expect(await rest('{"sender": "x", "message":')).toBe(400);
    expect(await rest(JSON.stringify({ sender: 'big', message: 'y'.repeat(BODY_LIMIT + 10) }))).toBe(413);
    for (const value of [...ARBITRARY, ...WRONG_TYPES]) {
      expect(await rest(JSON.stringify(value))).toBeLessThan(500);
      expect(await rest(JSON.stringify({ sender: value, message: value }))).toBeLessThan(500);
    }
    expect(
      await rest(JSON.stringify({ sender: '\u0000\u0001', message: 'only controls in the sender' })),
    ).toBe(400);

    // Every webhook: malformed, signed.
    for (const platform of platforms()) {
      expect(await platform.post('{"update_id": 1, "message": ')).toBe(400);
      expect(await platform.post(nested(10_000))).toBe(400);
      expect(await platform.post(nestedText(5_000))).toBe(400);
      expect(await platform.post('[1, 2]')).toBe(400);
      expect(await platform.post(JSON.stringify({ pad: 'x'.repeat(BODY_LIMIT + 10) }))).toBe(413);
      for (const value of ARBITRARY) expect(await platform.post(JSON.stringify({ value }))).toBeLessThan(500);
      let n = 0;
      for (const path of FIELDS[platform.id] ?? []) {
        for (const wrong of WRONG_TYPES) {
          const status = await platform.post(
            JSON.stringify(withField(platform.dm(900 + n++, 'wrong types'), path, wrong)),
          );
          expect(status, `${platform.id} ${path.join('.')} = ${JSON.stringify(wrong)}`).toBeLessThan(500);
        }
      }
    }

    // Odd but well-formed: each must be accepted and answered.
    let customer = 0;
    for (const platform of platforms()) {
      for (const text of ODD_TEXTS) {
        const n = ++customer;
        const status = await platform.post(JSON.stringify(platform.dm(n, text)));
        expect(status, `${platform.id}: ${JSON.stringify(text.slice(0, 40))}`).toBe(200);
        counts.accepted++;
        expected.push({ what: `${platform.id} #${n}`, answered: () => platform.answered(n) });
      }
    }
    for (const [index, text] of ODD_TEXTS.entries()) {
      const response = await fetch(`${url}/webhooks/rest`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          sender: `odd-${index}\u0000`,
          message: text,
          metadata: { deep: DEEP_ALLOWED },
        }),
      });
      tally('rest odd', response.status);
      const replies = (await response.json()) as unknown[];
      expect(response.status, JSON.stringify(text.slice(0, 40))).toBe(200);
      counts.accepted++;
      expected.push({ what: `rest odd ${index}`, answered: () => replies.length > 0 });
    }

    // A ticket is open, and the customer writes a NUL: the ticket gets the words, the customer an answer.
    const ask = async (message: string) => {
      const response = await fetch(`${url}/webhooks/rest`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ sender: 'ticket-holder', message }),
      });
      tally('rest ticket', response.status);
      return { status: response.status, replies: (await response.json()) as Array<{ text: string }> };
    };
    const handoff = await ask('I need to talk to an agent please');
    expect(handoff.replies[0]?.text).toMatch(/HUB-[0-9A-Z]{8}/);
    const waiting = await ask('Any news\u0000 on my ticket?\u0007');
    expect(waiting.status).toBe(200);
    counts.accepted++;
    expected.push({ what: 'rest with an open ticket', answered: () => waiting.replies.length > 0 });
    const db = (hub.store as KyselyStore).db;
    await until('comment queued', async () => {
      const { rows } = await sql<{
        event_id: string;
        body: string;
      }>`select event_id, body from ticket_comments`.execute(db);
      const atRest = (hub.store as KyselyStore).atRest;
      return rows.some(
        (row) =>
          atRest.open(row.body, { table: 'ticket_comments', column: 'body', row: row.event_id }) ===
          'Any news on my ticket?',
      );
    });

    // Web chat: malformed frames get error frames on a socket that stays open; odd messages answers.
    const socket = new WebSocket(`${url.replace('http', 'ws')}/webchat/webchat/ws`);
    const frames: Array<{ type: string; code?: string; message?: unknown }> = [];
    socket.on('message', (data) => frames.push(JSON.parse(data.toString())));
    await new Promise((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    });
    const badFrames = [
      nested(4_000),
      '{"type": "message"',
      JSON.stringify({ type: 'message', id: 'x', text: 5 }),
      '[]',
    ];
    for (const frame of badFrames) {
      socket.send(frame);
      counts.requests++;
    }
    await until('error frames', () => frames.filter((f) => f.type === 'error').length >= badFrames.length);
    counts['4xx'] += badFrames.length;
    // A frame is at most 8 KiB: the huge-Unicode text is sent cut to fit.
    const webchatTexts = ODD_TEXTS.map((text) =>
      Buffer.byteLength(text) > 6_000 ? text.slice(0, 1_500) : text,
    );
    for (const [index, text] of webchatTexts.entries()) {
      socket.send(JSON.stringify({ type: 'message', id: `odd-${index}`, text }));
      counts.requests++;
      counts['2xx']++;
      counts.accepted++;
      expected.push({
        what: `web chat odd ${index}`,
        answered: () =>
          frames.some(
            (f) =>
              f.type === 'reply' &&
              (f.message as { inReplyTo?: string })?.inReplyTo?.endsWith(`:odd-${index}`),
          ),
      });
    }

    await until('every odd message answered', () => expected.every((e) => e.answered()), 90_000).catch(
      () => undefined,
    );
    socket.close();
    const unanswered = expected.filter((e) => !e.answered()).map((e) => e.what);
    counts.answered = counts.accepted - unanswered.length;
    const deadLetters = await hub.bus.deadLetters();
    const rejected = await sql<{ n: string }>`select count(*) as n from rejected_webhooks`.execute(db);
    console.log(
      `ingress fuzz: requests=${counts.requests} 2xx=${counts['2xx']} 4xx=${counts['4xx']} 5xx=${counts['5xx']} ` +
        `accepted odd=${counts.accepted} answered=${counts.answered} dead letters=${deadLetters.length} ` +
        `rejected webhooks kept=${rejected.rows[0]?.n}`,
    );
    expect(fiveHundreds).toEqual([]);
    expect(unanswered).toEqual([]);
    expect(deadLetters).toEqual([]);
    expect(Number(rejected.rows[0]?.n)).toBeGreaterThan(0);
    expect(counts.requests).toBeGreaterThan(200);
  }, 300_000);
});
