import { Redis } from 'ioredis';
import { describe } from 'vitest';
import { signSlack } from '../../connectors/slack/verify';
import { signWhatsApp } from '../../connectors/whatsapp/verify';
import { ServiceWindowStore } from '../../connectors/whatsapp/window';
import { RedisKeyValueStore } from '../../core/storage';
import { OpenIdEmulator } from '../emulators/openid-emulator';
import { SlackEmulator } from '../emulators/slack-emulator';
import { TeamsEmulator } from '../emulators/teams-emulator';
import { TelegramEmulator } from '../emulators/telegram-emulator';
import { WhatsAppEmulator } from '../emulators/whatsapp-emulator';
import { type Harness, pushConnectorCases } from './connector-cases';

const TG_TOKEN = '7000000001:FAKE_conformance_token_000';
const TG_SECRET = 'FAKE_tg_secret_token-0123456789_abc';
let telegram: TelegramEmulator;

const tgMessage = (id: number, user: string, text: string) => ({
  message_id: id,
  from: { id: Number(user), is_bot: false, first_name: 'Ann' },
  chat: { id: Number(user), type: 'private' },
  date: 1_700_000_000,
  text,
});

const telegramHarness: Harness = {
  type: 'telegram',
  async start() {
    telegram = await new TelegramEmulator({ token: TG_TOKEN, botUsername: 'FakeHubBot' }).start();
    return {
      config: { botToken: TG_TOKEN, secretToken: TG_SECRET, apiRoot: telegram.url },
      stop: () => telegram.stop(),
    };
  },
  signedHeaders: () => ({ 'x-telegram-bot-api-secret-token': TG_SECRET }),
  forgeries: () => [
    { name: 'missing secret', headers: {} as Record<string, string> },
    { name: 'empty secret', headers: { 'x-telegram-bot-api-secret-token': '' } },
    { name: 'wrong secret', headers: { 'x-telegram-bot-api-secret-token': `${TG_SECRET.slice(0, -1)}d` } },
  ],
  scenario: {
    text: (id, user, text) => ({ update_id: id, message: tgMessage(id, user, text) }),
    edit: (id, user, text) => ({
      update_id: id + 1,
      edited_message: { ...tgMessage(id, user, text), edit_date: 1_700_000_100 },
    }),
    echo: (id) => ({
      update_id: id,
      message: {
        ...tgMessage(id, '7000000001', 'my own words'),
        from: { id: 7000000001, is_bot: true, first_name: 'Bot' },
      },
    }),
    action: (id, user, value) => ({
      contentType: 'application/json',
      body: JSON.stringify({
        update_id: id,
        callback_query: {
          id: `cb-${id}`,
          from: { id: Number(user), first_name: 'Ann' },
          message: tgMessage(id - 1, user, 'pick'),
          data: value,
        },
      }),
    }),
    membership: (id, user) => ({
      update_id: id,
      message: {
        message_id: id,
        from: { id: Number(user), first_name: 'New' },
        chat: { id: -1001000000001, type: 'supergroup' },
        date: 1,
        new_chat_members: [{ id: Number(user), first_name: 'New' }],
      },
    }),
  },
  visible: (conversation) =>
    telegram.sent
      .filter((m) => m.chat_id === conversation)
      .map((m) => ({
        text: m.text
          .replace(/<[^>]+>/g, '')
          .replaceAll('&lt;', '<')
          .replaceAll('&gt;', '>')
          .replaceAll('&amp;', '&'),
        buttons: (
          (m.reply_markup as { inline_keyboard?: Array<Array<{ text: string }>> } | undefined)
            ?.inline_keyboard ?? []
        )
          .flat()
          .map((b) => b.text),
      })),
  conversationOf: (user) => user,
  textLimit: 4096,
};

const SLACK_TOKEN = 'xoxb-0000-FAKEconformance';
const SLACK_SECRET = 'FAKE_slack_signing_secret_000000';
let slack: SlackEmulator;

const slackEnvelope = (id: number, event: Record<string, unknown>) => ({
  type: 'event_callback',
  team_id: 'T00FAKE00AA',
  api_app_id: 'A00FAKEAPP01',
  event_id: `Ev${id}`,
  authorizations: [{ user_id: 'U00FAKEBOT01', is_bot: true }],
  event,
});
const slackSign = (body: string, at = Math.floor(Date.now() / 1000)) => ({
  'x-slack-request-timestamp': String(at),
  'x-slack-signature': signSlack(SLACK_SECRET, String(at), body),
});

const slackHarness: Harness = {
  type: 'slack',
  async start() {
    slack = await new SlackEmulator({ token: SLACK_TOKEN }).start();
    return {
      config: { botToken: SLACK_TOKEN, signingSecret: SLACK_SECRET, apiUrl: slack.url },
      stop: () => slack.stop(),
    };
  },
  signedHeaders: (body) => slackSign(body),
  forgeries: (body) => {
    const now = Math.floor(Date.now() / 1000);
    return [
      {
        name: 'missing signature',
        headers: { 'x-slack-request-timestamp': String(now) } as Record<string, string>,
      },
      {
        name: 'wrong secret',
        headers: {
          'x-slack-request-timestamp': String(now),
          'x-slack-signature': signSlack('another_secret_0000', String(now), body),
        },
      },
      { name: 'stale timestamp', headers: slackSign(body, now - 301) },
      { name: 'future timestamp', headers: slackSign(body, now + 301) },
      {
        name: 'v1 scheme',
        headers: {
          ...slackSign(body),
          'x-slack-signature': slackSign(body)['x-slack-signature'].replace('v0=', 'v1='),
        },
      },
    ];
  },
  scenario: {
    text: (id, user, text) =>
      slackEnvelope(id, {
        type: 'message',
        channel: `D${user}`,
        channel_type: 'im',
        user,
        text,
        ts: `${id}.000100`,
      }),
    edit: (id, user, text) =>
      slackEnvelope(id + 1, {
        type: 'message',
        subtype: 'message_changed',
        channel: `D${user}`,
        ts: `${id + 1}.000100`,
        message: { type: 'message', user, text, ts: `${id}.000100` },
      }),
    echo: (id) =>
      slackEnvelope(id, {
        type: 'message',
        channel: 'DECHO',
        user: 'U00FAKEBOT01',
        bot_id: 'B00FAKEBOT01',
        app_id: 'A00FAKEAPP01',
        text: 'mine',
        ts: `${id}.000100`,
      }),
    action: (id, user, value) => ({
      contentType: 'application/x-www-form-urlencoded',
      body: new URLSearchParams({
        payload: JSON.stringify({
          type: 'block_actions',
          user: { id: user },
          channel: { id: `D${user}` },
          container: { message_ts: `${id - 1}.000100`, channel_id: `D${user}` },
          actions: [
            {
              action_id: value,
              value,
              type: 'button',
              text: { type: 'plain_text', text: value },
              action_ts: `${id}.000200`,
            },
          ],
        }),
      }).toString(),
    }),
    membership: (id, user) =>
      slackEnvelope(id, {
        type: 'member_joined_channel',
        user,
        channel: 'C00FAKECHAN1',
        event_ts: `${id}.1`,
      }),
    reaction: (id, user, messageId) =>
      slackEnvelope(id, {
        type: 'reaction_added',
        user,
        reaction: '+1',
        item_user: 'U00FAKEBOT01',
        item: { type: 'message', channel: `D${user}`, ts: messageId },
        event_ts: `${id}.000300`,
      }),
  },
  visible: (conversation) =>
    slack.posted
      .filter((p) => p.channel === conversation)
      .map((p) => ({
        text: p.text.replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&amp;', '&'),
        buttons: ((p.blocks ?? []) as Array<{ type: string; elements?: Array<{ text: { text: string } }> }>)
          .filter((b) => b.type === 'actions')
          .flatMap((b) => (b.elements ?? []).map((e) => e.text.text)),
      })),
  conversationOf: (user) => `D${user}`,
  textLimit: 39_000,
};

const TEAMS_APP_ID = '11111111-2222-3333-4444-555555555555';
const TEAMS_PASSWORD = 'FAKE~conformance~secret~000';
const TEAMS_TENANT = 'a1b2c3d4-e5f6-7890-abcd-ef1234567890';
const TEAMS_BOT = `28:${TEAMS_APP_ID}`;
let openid: OpenIdEmulator;
let teams: TeamsEmulator;

const teamsActivity = (id: number, user: string, extra: Record<string, unknown>) => ({
  type: 'message',
  id: String(id),
  channelId: 'msteams',
  serviceUrl: `${teams.url}/amer/`,
  timestamp: new Date(1_700_000_000_000 + id).toISOString(),
  from: { id: `29:${user}`, name: 'Ann' },
  recipient: { id: TEAMS_BOT, name: 'Fake Hub Bot' },
  conversation: { id: `a:${user}`, conversationType: 'personal', tenantId: TEAMS_TENANT },
  channelData: { tenant: { id: TEAMS_TENANT } },
  ...extra,
});
/** The serviceUrl the token vouches for is the one in the body, as the Bot Connector signs it. */
const serviceUrlOf = (body: string) => {
  try {
    return String((JSON.parse(body) as { serviceUrl?: unknown }).serviceUrl ?? `${teams.url}/amer/`);
  } catch {
    return `${teams.url}/amer/`;
  }
};
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

const teamsHarness: Harness = {
  type: 'teams',
  async start() {
    openid = await new OpenIdEmulator({ appId: TEAMS_APP_ID, appPassword: TEAMS_PASSWORD }).start();
    teams = await new TeamsEmulator({ verifyToken: (token) => openid.verifyAccessToken(token) }).start();
    return {
      config: {
        appId: TEAMS_APP_ID,
        appPassword: TEAMS_PASSWORD,
        allowedTenants: [TEAMS_TENANT],
        openIdMetadataUrl: openid.metadataUrl,
        tokenEndpoint: openid.tokenEndpoint(),
        serviceUrl: `${teams.url}/teams/`,
      },
      async stop() {
        await teams.stop();
        await openid.stop();
      },
    };
  },
  signedHeaders: (body) => bearer(openid.signChannelToken({ serviceUrl: serviceUrlOf(body) })),
  forgeries: (body) => {
    const serviceUrl = serviceUrlOf(body);
    return [
      { name: 'missing token', headers: {} as Record<string, string> },
      { name: 'basic scheme', headers: { authorization: 'Basic Zm9vOmJhcg==' } },
      {
        name: 'wrong issuer',
        headers: bearer(openid.signChannelToken({ serviceUrl, iss: 'https://evil.example' })),
      },
      {
        name: 'wrong audience',
        headers: bearer(openid.signChannelToken({ serviceUrl, aud: '99999999-2222-3333-4444-555555555555' })),
      },
      { name: 'expired', headers: bearer(openid.signChannelToken({ serviceUrl, expiresIn: -400 })) },
      { name: 'unpublished key', headers: bearer(openid.signChannelToken({ serviceUrl }, { key: 'rogue' })) },
      { name: 'alg none', headers: bearer(openid.signChannelToken({ serviceUrl }, { alg: 'none' })) },
      {
        name: 'HS256 with the public key',
        headers: bearer(openid.signChannelToken({ serviceUrl }, { alg: 'HS256' })),
      },
      {
        name: 'serviceUrl claim of another activity',
        headers: bearer(openid.signChannelToken({ serviceUrl: 'https://smba.trafficmanager.net/emea/' })),
      },
      {
        name: 'key not endorsed for msteams',
        headers: bearer(openid.signChannelToken({ serviceUrl }, { key: 'unendorsed' })),
      },
    ];
  },
  scenario: {
    text: (id, user, text) => teamsActivity(id, user, { text, textFormat: 'plain' }),
    edit: (id, user, text) =>
      teamsActivity(id, user, {
        type: 'messageUpdate',
        text,
        channelData: { tenant: { id: TEAMS_TENANT }, eventType: 'editMessage' },
      }),
    echo: (id) =>
      teamsActivity(id, '1234567', { from: { id: TEAMS_BOT, name: 'Fake Hub Bot' }, text: 'mine' }),
    action: (id, user, value) => ({
      contentType: 'application/json',
      body: JSON.stringify(
        teamsActivity(id, user, {
          text: value,
          value: { hubAction: value, msteams: { type: 'messageBack' } },
        }),
      ),
    }),
    membership: (id, user) =>
      teamsActivity(id, 'team-owner', {
        type: 'conversationUpdate',
        conversation: {
          id: '19:general@thread.tacv2',
          conversationType: 'channel',
          isGroup: true,
          tenantId: TEAMS_TENANT,
        },
        membersAdded: [{ id: user }],
        channelData: {
          tenant: { id: TEAMS_TENANT },
          eventType: 'teamMemberAdded',
          team: { id: '19:team@thread.tacv2' },
        },
      }),
    reaction: (id, user, messageId) =>
      teamsActivity(id, user, {
        type: 'messageReaction',
        replyToId: messageId,
        reactionsAdded: [{ type: 'like' }],
      }),
  },
  visible: (conversation) =>
    teams
      .postedTo(conversation)
      .map((p) => p.activity as { type: string; text?: string; attachments?: Array<{ content?: unknown }> })
      .filter((a) => a.type === 'message')
      .map((a) => {
        const cards = (a.attachments ?? []).map(
          (attachment) =>
            (attachment.content ?? {}) as {
              body?: Array<{ text?: string }>;
              actions?: Array<{ title: string }>;
            },
        );
        const cardTexts = cards.flatMap((card) => (card.body ?? []).map((block) => block.text ?? ''));
        return {
          text: [a.text ?? '', ...cardTexts].filter(Boolean).join('\n'),
          buttons: cards.flatMap((card) => (card.actions ?? []).map((action) => action.title)),
        };
      }),
  conversationOf: (user) => `a:${user}`,
  textLimit: 7_000,
};

const WA_TOKEN = 'EAAFAKEconformanceWhatsappToken000000';
const WA_SECRET = 'FAKE_meta_app_secret_conformance0';
const WA_PHONE = '100000000000011';
const WA_PREFIX = `hub-conf-wa-${process.pid}-${Date.now()}`;
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
let graph: WhatsAppEmulator;
let waRedis: Redis;

const waNotification = (value: Record<string, unknown>) => ({
  object: 'whatsapp_business_account',
  entry: [
    {
      id: '200000000000011',
      changes: [
        {
          field: 'messages',
          value: {
            messaging_product: 'whatsapp',
            metadata: { display_phone_number: '15550001111', phone_number_id: WA_PHONE },
            ...value,
          },
        },
      ],
    },
  ],
});
const waFrom = (id: number, user: string, message: Record<string, unknown>) =>
  waNotification({
    contacts: [{ profile: { name: 'Ann' }, wa_id: user }],
    messages: [
      { from: user, id: `wamid.FAKE${id}`, timestamp: String(Math.floor(Date.now() / 1000)), ...message },
    ],
  });
const hubSignature = (body: string) => ({ 'x-hub-signature-256': signWhatsApp(WA_SECRET, body) });

/**
 * WhatsApp Cloud API: Meta's X-Hub-Signature-256 over the raw body; replies only inside the
 * customer's 24-hour window, which lives in Redis so the worker-only connector sees it too. The
 * Cloud API reports neither edits (only to WhatsApp Business app numbers) nor group joins to this
 * connector, so those scenarios are left out; the bot's own messages come back as status receipts.
 */
const whatsappHarness: Harness = {
  type: 'whatsapp',
  async start() {
    graph = await new WhatsAppEmulator({ accessToken: WA_TOKEN, phoneNumberId: WA_PHONE }).start();
    waRedis = new Redis(REDIS_URL);
    return {
      config: {
        phoneNumberId: WA_PHONE,
        accessToken: WA_TOKEN,
        appSecret: WA_SECRET,
        verifyToken: 'FAKE_verify_conformance',
        graphApiUrl: graph.url,
      },
      async stop() {
        for await (const keys of waRedis.scanStream({ match: `${WA_PREFIX}:*`, count: 500 })) {
          if ((keys as string[]).length) await waRedis.del(...(keys as string[]));
        }
        await waRedis.quit();
        await graph.stop();
      },
    };
  },
  hub: { outbound: { driver: 'redis' }, redis: { url: REDIS_URL, keyPrefix: WA_PREFIX } },
  customerWrote: (conversation) =>
    new ServiceWindowStore(
      new RedisKeyValueStore(waRedis, WA_PREFIX).namespace('whatsapp:conf-whatsapp'),
    ).touch(conversation, Date.now()),
  signedHeaders: (body) => hubSignature(body),
  forgeries: (body) => [
    { name: 'missing signature', headers: {} as Record<string, string> },
    { name: 'empty signature', headers: { 'x-hub-signature-256': '' } },
    {
      name: 'wrong secret',
      headers: { 'x-hub-signature-256': signWhatsApp('another_app_secret_000', body) },
    },
    {
      name: 'signature of another body',
      headers: { 'x-hub-signature-256': signWhatsApp(WA_SECRET, `${body} `) },
    },
    {
      name: 'sha1 scheme',
      headers: {
        'x-hub-signature-256': hubSignature(body)['x-hub-signature-256'].replace('sha256=', 'sha1='),
      },
    },
    {
      name: 'truncated digest',
      headers: { 'x-hub-signature-256': hubSignature(body)['x-hub-signature-256'].slice(0, -2) },
    },
  ],
  scenario: {
    text: (id, user, text) => waFrom(id, user, { type: 'text', text: { body: text } }),
    echo: (id) =>
      waNotification({
        statuses: [
          {
            id: `wamid.FAKEOUT${id}`,
            status: 'delivered',
            timestamp: String(Math.floor(Date.now() / 1000)),
            recipient_id: '1234567',
          },
        ],
      }),
    action: (id, user, value) => ({
      contentType: 'application/json',
      body: JSON.stringify(
        waFrom(id, user, {
          type: 'interactive',
          context: { from: '15550001111', id: `wamid.FAKEOUT${id - 1}` },
          interactive: { type: 'button_reply', button_reply: { id: value, title: value } },
        }),
      ),
    }),
  },
  visible: (conversation) =>
    graph.sentTo(conversation).map((message) => {
      const payload = message.payload as Record<string, Record<string, unknown> | undefined>;
      if (message.type === 'text') return { text: String(payload.text?.body ?? ''), buttons: [] };
      if (message.type === 'interactive') {
        const interactive = payload.interactive as {
          header?: { text?: string };
          body?: { text?: string };
          footer?: { text?: string };
          action?: {
            buttons?: Array<{ reply: { title: string } }>;
            sections?: Array<{ rows: Array<{ title: string; description?: string }> }>;
          };
        };
        return {
          text: [interactive.header?.text, interactive.body?.text, interactive.footer?.text]
            .filter(Boolean)
            .join('\n'),
          buttons: [
            ...(interactive.action?.buttons ?? []).map((button) => button.reply.title),
            ...(interactive.action?.sections ?? []).flatMap((section) =>
              section.rows.map((row) => row.title),
            ),
          ],
        };
      }
      const media = (payload[message.type] ?? {}) as { caption?: string; filename?: string; link?: string };
      return { text: [media.caption, media.filename, media.link].filter(Boolean).join('\n'), buttons: [] };
    }),
  conversationOf: (user) => user,
  textLimit: 4096,
};

/** Every push channel that runs the scenarios below. */
const pushHarnesses = [telegramHarness, slackHarness, teamsHarness, whatsappHarness];

describe.each(pushHarnesses)('push connector conformance: $type', (harness) => pushConnectorCases(harness));
