import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BotFrameworkTokenValidator } from '../../connectors/teams/auth';
import { createTeamsConnector } from '../../connectors/teams/connector';
import { teamsFileId } from '../../connectors/teams/files';
import {
  conversationIdOf,
  normalizeTeamsActivity,
  splitConversationId,
} from '../../connectors/teams/normalize';
import { renderTeams, TEXT_LIMIT } from '../../connectors/teams/render';
import { retryAfterMs } from '../../connectors/teams/sender';
import { BotTokenProvider } from '../../connectors/teams/token';
import { channelIngress } from '../../core/channels/ingress';
import type { Connector } from '../../core/channels/types';
import { hubConfigSchema } from '../../core/config/schema';
import { logger } from '../../core/log';
import {
  DeliveryError,
  MemoryDeliveryLedger,
  MemoryRateLimiter,
  OutboundScheduler,
} from '../../core/outbound';
import { MemoryKeyValueStore } from '../../core/storage';
import { createStore, type KyselyStore } from '../../core/store';
import type { HubStore, InboundEvent, OutboundMessage } from '../../core/types';
import { OpenIdEmulator } from '../emulators/openid-emulator';
import { TeamsEmulator } from '../emulators/teams-emulator';

const APP_ID = '11111111-2222-3333-4444-555555555555';
const APP_PASSWORD = 'FAKE~teams~client~secret~0000';
const TENANT = 'a1b2c3d4-e5f6-7890-abcd-ef1234567890';
const BOT = `28:${APP_ID}`;
const USER = '29:1FakeUnitTestUser';
const IDENTITY = { channel: 'tm', tenant: 'acme', appId: APP_ID };
/** The real server's maintenance database; the test creates and drops its own database. */
const ADMIN_URL = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function adminQuery(text: string): Promise<void> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

let openid: OpenIdEmulator;
let teams: TeamsEmulator;

beforeAll(async () => {
  openid = await new OpenIdEmulator({ appId: APP_ID, appPassword: APP_PASSWORD }).start();
  teams = await new TeamsEmulator({ verifyToken: (token) => openid.verifyAccessToken(token) }).start();
});

afterAll(async () => {
  await teams?.stop();
  await openid?.stop();
});

const serviceUrl = () => `${teams.url}/amer/`;

function activity(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'message',
    id: '1767378504354',
    channelId: 'msteams',
    serviceUrl: serviceUrl(),
    from: { id: USER, name: 'Ann', aadObjectId: '00000000-1111-2222-3333-444444444444' },
    recipient: { id: BOT, name: 'Fake Hub Bot' },
    conversation: { id: 'a:1FakePersonalUnit', conversationType: 'personal', tenantId: TENANT },
    channelData: { tenant: { id: TENANT } },
    text: 'Hello',
    ...overrides,
  };
}

const normalize = (overrides: Record<string, unknown> = {}) =>
  normalizeTeamsActivity(activity(overrides) as never, IDENTITY, '2026-01-01T00:00:00.000Z');
const eventOf = (overrides: Record<string, unknown> = {}): InboundEvent => {
  const result = normalize(overrides);
  if ('ignored' in result) throw new Error(`ignored: ${result.ignored}`);
  return result.event;
};

describe('Bot Framework token validation', () => {
  const validator = () =>
    new BotFrameworkTokenValidator({
      appId: APP_ID,
      issuer: 'https://api.botframework.com',
      openIdMetadataUrl: openid.metadataUrl,
    });

  it('accepts a token signed with a published key and checks it against the activity', async () => {
    const v = validator();
    const verdict = await v.verify(openid.signChannelToken({ serviceUrl: serviceUrl() }));
    expect(verdict.ok).toBe(true);
    if (!verdict.ok) return;
    expect(
      BotFrameworkTokenValidator.checkActivity(verdict, { serviceUrl: serviceUrl(), channelId: 'msteams' }),
    ).toBe(undefined);
    expect(
      BotFrameworkTokenValidator.checkActivity(verdict, {
        serviceUrl: 'https://smba.trafficmanager.net/amer-client-ss.msg/',
        channelId: 'msteams',
      }),
    ).toBe('service_url_mismatch');
    expect(
      BotFrameworkTokenValidator.checkActivity(verdict, { serviceUrl: serviceUrl(), channelId: 'slack' }),
    ).toBe('not_endorsed');
  });

  it('rejects each kind of forged, misdirected or stale token with its reason', async () => {
    const v = validator();
    const s = serviceUrl();
    const cases: Array<[string, string]> = [
      [openid.signChannelToken({ serviceUrl: s, iss: 'https://sts.windows.net/other/' }), 'wrong_issuer'],
      [
        openid.signChannelToken({ serviceUrl: s, aud: '99999999-2222-3333-4444-555555555555' }),
        'wrong_audience',
      ],
      [openid.signChannelToken({ serviceUrl: s, expiresIn: -400 }), 'expired'],
      [openid.signChannelToken({ serviceUrl: s, notBefore: 400 }), 'not_yet_valid'],
      [openid.signChannelToken({ serviceUrl: s }, { key: 'rogue' }), 'bad_signature'],
      [openid.signChannelToken({ serviceUrl: s }, { key: 'rogue', kid: 'not-published' }), 'unknown_key'],
      [openid.signChannelToken({ serviceUrl: s }, { alg: 'none' }), 'bad_algorithm'],
      [openid.signChannelToken({ serviceUrl: s }, { alg: 'HS256' }), 'bad_algorithm'],
      ['abc.def.ghi', 'malformed'],
    ];
    for (const [token, reason] of cases) {
      expect(await v.verify(token), reason).toEqual({ ok: false, reason });
    }
    // Within the five minutes of clock skew the SDKs allow.
    expect((await v.verify(openid.signChannelToken({ serviceUrl: s, expiresIn: -240 }))).ok).toBe(true);
  });

  it('refuses a key endorsed for other channels only', async () => {
    const verdict = await validator().verify(
      openid.signChannelToken({ serviceUrl: serviceUrl() }, { key: 'unendorsed' }),
    );
    expect(verdict.ok).toBe(true);
    if (!verdict.ok) return;
    expect(
      BotFrameworkTokenValidator.checkActivity(verdict, { serviceUrl: serviceUrl(), channelId: 'msteams' }),
    ).toBe('not_endorsed');
  });

  it('says the keys are unavailable when the metadata cannot be read, and keeps loaded keys when it goes down', async () => {
    const loaded = validator();
    await loaded.ready();
    openid.unavailable = true;
    try {
      expect(await validator().verify(openid.signChannelToken({ serviceUrl: serviceUrl() }))).toEqual({
        ok: false,
        reason: 'keys_unavailable',
      });
      expect((await loaded.verify(openid.signChannelToken({ serviceUrl: serviceUrl() }))).ok).toBe(true);
    } finally {
      openid.unavailable = false;
    }
  });
});

describe('Teams activity normalization', () => {
  it('keys an activity by conversation and activity id, so a retry is the same event', () => {
    const a = eventOf();
    expect(a.id).toBe('tm:a:1FakePersonalUnit:1767378504354');
    expect(eventOf().id).toBe(a.id);
    expect(a).toMatchObject({
      kind: 'message',
      text: 'Hello',
      addressedToBot: true,
      ref: { channel: 'tm', tenant: 'acme', conversation: 'a:1FakePersonalUnit' },
      channelData: { teams: { serviceUrl: serviceUrl(), tenantId: TENANT, botId: BOT } },
    });
  });

  it('splits channel threads off the conversation id and joins them back for replies', () => {
    const split = splitConversationId('19:abc@thread.tacv2;messageid=1771290107407');
    expect(split).toEqual({ conversation: '19:abc@thread.tacv2', thread: '1771290107407' });
    expect(conversationIdOf(split)).toBe('19:abc@thread.tacv2;messageid=1771290107407');
    expect(splitConversationId('19:group@thread.v2')).toEqual({ conversation: '19:group@thread.v2' });
  });

  it('answers group chats only when the bot is mentioned, and keeps other mentions as @names', () => {
    const group = {
      id: '19:group@thread.v2',
      conversationType: 'groupChat',
      isGroup: true,
      tenantId: TENANT,
    };
    expect(eventOf({ conversation: group, text: 'just chatting' }).addressedToBot).toBe(false);
    const mentioned = eventOf({
      conversation: group,
      text: '<at>Fake Hub Bot</at> ask <at>Bo</at> please',
      entities: [
        { type: 'mention', text: '<at>Fake Hub Bot</at>', mentioned: { id: BOT, name: 'Fake Hub Bot' } },
        { type: 'mention', text: '<at>Bo</at>', mentioned: { id: '29:bo', name: 'Bo' } },
      ],
    });
    expect(mentioned).toMatchObject({ addressedToBot: true, text: 'ask @Bo please' });
    expect(mentioned.mentions?.map((m) => m.isBot)).toEqual([true, false]);
  });

  it('reads Action.Submit / messageBack data as an action, not as text', () => {
    const event = eventOf({
      text: 'Track my order',
      value: { hubAction: 'track', msteams: { type: 'messageBack' } },
    });
    expect(event).toMatchObject({
      kind: 'action',
      action: { id: 'track', title: 'Track my order', value: { hubAction: 'track' } },
    });
    expect(event.action?.value).not.toHaveProperty('msteams');
  });

  it('turns files and inline images into attachments with a way to fetch them', () => {
    const event = eventOf({
      text: '',
      attachments: [
        {
          contentType: 'application/vnd.microsoft.teams.file.download.info',
          name: 'invoice.pdf',
          contentUrl: 'https://contoso.sharepoint.com/invoice.pdf',
          content: { downloadUrl: 'https://download.example/invoice.pdf', uniqueId: 'F1', fileType: 'pdf' },
        },
        { contentType: 'image/*', contentUrl: `${serviceUrl()}v3/attachments/xyz/views/original` },
        { contentType: 'text/html', content: '<p>dup</p>' },
      ],
    });
    expect(event.text).toBeUndefined();
    expect(event.attachments).toEqual([
      {
        kind: 'file',
        url: 'https://download.example/invoice.pdf',
        fileId: teamsFileId('https://download.example/invoice.pdf'),
        name: 'invoice.pdf',
      },
      {
        kind: 'image',
        url: `${serviceUrl()}v3/attachments/xyz/views/original`,
        fileId: teamsFileId(`${serviceUrl()}v3/attachments/xyz/views/original`),
      },
    ]);
  });

  it('records edits, ignores deletes, own echoes, typing and unknown invokes', () => {
    expect(
      eventOf({ type: 'messageUpdate', text: 'fixed', channelData: { eventType: 'editMessage' } }),
    ).toMatchObject({
      kind: 'edit',
      text: 'fixed',
      addressedToBot: false,
    });
    const ignored = (overrides: Record<string, unknown>) => {
      const result = normalize(overrides);
      return 'ignored' in result ? result.ignored : undefined;
    };
    expect(ignored({ type: 'messageDelete' })).toBe('deleted');
    expect(ignored({ from: { id: BOT } })).toBe('own_echo');
    expect(ignored({ type: 'typing' })).toBe('unsupported_typing');
    expect(ignored({ type: 'invoke', name: 'composeExtension/query' })).toBe('invoke_composeExtension/query');
    expect(ignored({ text: '   ' })).toBe('empty_message');
    expect(ignored({ conversation: undefined })).toBe('malformed');
  });

  it('reads an uninstall as the bot leaving', () => {
    expect(eventOf({ type: 'installationUpdate', action: 'remove', text: undefined })).toMatchObject({
      kind: 'membership',
      membership: { change: 'left', memberIds: [BOT], botIncluded: true },
      channelData: { teams: { installation: 'remove' } },
    });
  });
});

describe('Teams rendering', () => {
  const message = (content: OutboundMessage['content']): OutboundMessage => ({
    id: 'm1',
    ref: { channel: 'tm', tenant: 'acme', conversation: 'a:1' },
    content,
    createdAt: new Date().toISOString(),
  });

  it('sends markdown as Teams markdown, plain text as plain, typing as a typing activity', () => {
    expect(renderTeams(message({ type: 'text', text: '**Hi**', format: 'markdown' }))).toEqual([
      { type: 'message', text: '**Hi**', textFormat: 'markdown' },
    ]);
    expect(renderTeams(message({ type: 'text', text: 'a*b' }))[0]).toMatchObject({ textFormat: 'plain' });
    expect(renderTeams(message({ type: 'typing' }))).toEqual([{ type: 'typing' }]);
  });

  it('renders choices as an Adaptive Card whose buttons come back as actions', () => {
    const [call] = renderTeams(
      message({ type: 'choices', text: 'Pick one', choices: [{ id: 'a', title: 'Alpha' }] }),
    );
    const card = call?.attachments?.[0];
    expect(card?.contentType).toBe('application/vnd.microsoft.card.adaptive');
    const content = card?.content as { actions: Array<{ type: string; data: Record<string, unknown> }> };
    const action = content.actions[0];
    expect(action?.type).toBe('Action.Submit');
    // What Teams sends back when the button is pressed (messageBack) normalizes to the choice id.
    const pressed = eventOf({ text: 'Alpha', value: action?.data });
    expect(pressed.action?.id).toBe('a');
  });

  it('degrades seven choices to a numbered list and splits long text', () => {
    const choices = Array.from({ length: 7 }, (_, i) => ({ id: `c${i}`, title: `Choice ${i}` }));
    const [list] = renderTeams(message({ type: 'choices', text: 'Pick', choices }));
    expect(list?.attachments).toBeUndefined();
    expect(list?.text).toContain('7. Choice 6');
    const parts = renderTeams(message({ type: 'text', text: 'word '.repeat(3000) }));
    expect(parts.length).toBeGreaterThan(1);
    expect(parts.every((p) => (p.text?.length ?? 0) <= TEXT_LIMIT)).toBe(true);
  });
});

describe('bot token', () => {
  it('is fetched once, shared by concurrent callers, and renewed after the Bot Connector refuses it', async () => {
    const tokens = new BotTokenProvider({
      endpoint: openid.tokenEndpoint(),
      appId: APP_ID,
      appPassword: APP_PASSWORD,
      scope: 'https://api.botframework.com/.default',
    });
    const [a, b] = await Promise.all([tokens.token(), tokens.token()]);
    expect(a).toBe(b);
    expect(await tokens.token()).toBe(a);
    expect(tokens.requests).toBe(1);
    expect(openid.verifyAccessToken(a)).toBe(true);
    tokens.invalidate(a);
    await tokens.token();
    expect(tokens.requests).toBe(2);
  });

  it('reports wrong credentials as not retryable and an outage as retryable', async () => {
    const wrong = new BotTokenProvider({
      endpoint: openid.tokenEndpoint(),
      appId: APP_ID,
      appPassword: 'wrong',
      scope: 'https://api.botframework.com/.default',
    });
    const refused = await wrong.token().catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(DeliveryError);
    expect(refused).toMatchObject({ code: 'teams.token_refused', retryable: false });
    expect(String((refused as Error).message)).not.toContain('wrong');
    openid.failTokenNext(503);
    const right = new BotTokenProvider({
      endpoint: openid.tokenEndpoint(),
      appId: APP_ID,
      appPassword: APP_PASSWORD,
      scope: 'https://api.botframework.com/.default',
    });
    await expect(right.token()).rejects.toMatchObject({ retryable: true });
    expect(await right.token()).toBeTruthy();
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    expect(retryAfterMs('2')).toBe(2000);
    expect(retryAfterMs(new Date(Date.now() + 3000).toUTCString())).toBeGreaterThan(1000);
    expect(retryAfterMs(null)).toBe(1000);
  });
});

describe('Teams channel config', () => {
  it('fails fast naming each wrong key and how to fix it', () => {
    const build = () =>
      createTeamsConnector({
        config: {
          id: 'teams-bad',
          type: 'teams',
          enabled: true,
          tenant: 'acme',
          appId: 'not-a-guid',
          allowedTenants: [],
        },
        hub: hubConfigSchema.parse({}),
        accept: async () => ({ accepted: true }),
        storage: new MemoryKeyValueStore(),
        feed: { publish: async () => {}, subscribe: async () => async () => {}, close: async () => {} },
        store: {} as HubStore,
        logger,
      });
    expect(build).toThrow(/appId: is not a Microsoft App ID/);
    expect(build).toThrow(/appPassword: is missing\. Fix: set appPassword: \$\{TEAMS_APP_PASSWORD\}/);
    expect(build).toThrow(/allowedTenants: must name at least one tenant id/);
  });
});

describe('Teams connector over HTTP', () => {
  let app: FastifyInstance;
  let store: KyselyStore;
  const database = `hub_test_teams_${randomUUID().replaceAll('-', '').slice(0, 8)}`;
  let published: InboundEvent[];
  let connector: Connector;
  const scheduler = () =>
    new OutboundScheduler({
      limiter: new MemoryRateLimiter(),
      ledger: new MemoryDeliveryLedger(),
      policy: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 50, maxWaitMs: 5_000, idempotencyTtlMs: 60_000 },
      logger,
    });
  const contextFor = (extra: Record<string, unknown> = {}, hubStore?: HubStore) => ({
    config: {
      id: 'teams-unit',
      type: 'teams',
      enabled: true,
      tenant: 'acme',
      appId: APP_ID,
      appPassword: APP_PASSWORD,
      allowedTenants: [TENANT],
      openIdMetadataUrl: openid.metadataUrl,
      tokenEndpoint: openid.tokenEndpoint(),
      serviceUrl: `${teams.url}/teams/`,
      ...extra,
    },
    hub: hubConfigSchema.parse({ server: { bodyLimitBytes: 64 * 1024 } }),
    accept: channelIngress(async (event: InboundEvent) => {
      const accepted = !published.some((e) => e.id === event.id);
      if (accepted) published.push(event);
      return { accepted };
    }),
    storage: new MemoryKeyValueStore(),
    feed: { publish: async () => {}, subscribe: async () => async () => {}, close: async () => {} },
    store: hubStore ?? store,
    logger,
    outbound: scheduler(),
  });

  beforeAll(async () => {
    const url = new URL(ADMIN_URL);
    url.pathname = `/${database}`;
    await adminQuery(`create database ${database}`);
    store = await createStore(
      hubConfigSchema.parse({ database: { driver: 'postgres', url: url.toString() } }),
    );
    published = [];
    connector = createTeamsConnector(
      contextFor({ serviceUrls: [`${teams.url}/amer/`, `${teams.url}/teams/`] }),
    );
    app = Fastify();
    await connector.register(app);
    await app.ready();
  });

  afterAll(async () => {
    await app?.close();
    await store?.close();
    await adminQuery(`drop database if exists ${database} with (force)`);
  });

  const post = (
    body: unknown,
    token: string | null = openid.signChannelToken({ serviceUrl: serviceUrl() }),
  ) =>
    app.inject({
      method: 'POST',
      url: '/webhooks/teams-unit',
      headers: {
        'content-type': 'application/json',
        ...(token === null ? {} : { authorization: `Bearer ${token}` }),
      },
      payload: typeof body === 'string' ? body : JSON.stringify(body),
    });

  it('answers an Action.Execute invoke synchronously with an invoke response and publishes the action', async () => {
    const response = await post(
      activity({
        type: 'invoke',
        name: 'adaptiveCard/action',
        id: 'f:invoke-1',
        text: undefined,
        value: {
          action: { type: 'Action.Execute', verb: 'approve', data: { requestId: 'R1' } },
          trigger: 'manual',
        },
      }),
    );
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      statusCode: 200,
      type: 'application/vnd.microsoft.activity.message',
      value: 'Received.',
    });
    expect(published.at(-1)).toMatchObject({
      kind: 'action',
      action: { id: 'approve', value: { verb: 'approve', requestId: 'R1' } },
    });
  });

  it('refuses other tenants with 403, unlisted serviceUrls with 403, and a missing token before reading the body', async () => {
    const before = published.length;
    const other = activity({
      id: 'x1',
      channelData: { tenant: { id: '99999999-e5f6-7890-abcd-ef1234567890' } },
    });
    expect((await post(other)).statusCode).toBe(403);
    const elsewhere = 'https://attacker.example/';
    expect(
      (
        await post(
          activity({ id: 'x2', serviceUrl: elsewhere }),
          openid.signChannelToken({ serviceUrl: elsewhere }),
        )
      ).statusCode,
    ).toBe(403);
    expect((await post('{ not json', null)).statusCode).toBe(401);
    expect((await post(activity({ id: 'x3' }), 'Bearer-less')).statusCode).toBe(401);
    expect(published.length).toBe(before);
  });

  it('answers malformed JSON with 400 and a body over the limit with 413, without crashing', async () => {
    expect((await post('{"type": ')).statusCode).toBe(400);
    expect((await post({ ...activity({ id: 'big' }), text: 'x'.repeat(70 * 1024) })).statusCode).toBe(413);
    expect((await post(activity({ id: 'after' }))).statusCode).toBe(200);
  });

  it('answers 503 (so the Bot Connector retries) while the signing keys cannot be read', async () => {
    const cold = createTeamsConnector(contextFor());
    const coldApp = Fastify();
    openid.unavailable = true;
    try {
      await cold.register(coldApp);
      await coldApp.ready();
      const response = await coldApp.inject({
        method: 'POST',
        url: '/webhooks/teams-unit',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${openid.signChannelToken({ serviceUrl: serviceUrl() })}`,
        },
        payload: JSON.stringify(activity({ id: 'cold' })),
      });
      expect(response.statusCode).toBe(503);
      await expect(cold.health?.()).rejects.toThrow(/OpenID metadata/);
    } finally {
      openid.unavailable = false;
      await coldApp.close();
    }
    await expect(cold.health?.()).resolves.toBeUndefined();
  });

  it('a worker that never saw the activity replies to the serviceUrl stored in the transcript', async () => {
    const conversation = 'a:1FakeWorkerConversation';
    const event = eventOf({
      id: 'w1',
      serviceUrl: `${teams.url}/emea/`,
      conversation: { id: conversation, conversationType: 'personal', tenantId: TENANT },
    });
    await store.recordInbound(event);
    const worker = createTeamsConnector(contextFor({}, store));
    await worker.deliver?.({
      id: 'reply-w1',
      ref: event.ref,
      inReplyTo: event.id,
      content: { type: 'text', text: 'from the worker' },
      createdAt: new Date().toISOString(),
    });
    expect(teams.postedTo(conversation).map((p) => [p.prefix, p.activity.text])).toEqual([
      ['/emea/', 'from the worker'],
    ]);
    // Unknown conversations go to the configured proactive endpoint.
    await worker.deliver?.({
      id: 'proactive-1',
      ref: { channel: 'teams-unit', tenant: 'acme', conversation: 'a:1NeverSeen' },
      content: { type: 'text', text: 'hello first' },
      createdAt: new Date().toISOString(),
    });
    expect(teams.postedTo('a:1NeverSeen').map((p) => p.prefix)).toEqual(['/teams/']);
  });

  it('fetches an inline image with the bot token, and nothing from hosts that are not Teams', async () => {
    const path = teams.addAttachment('img-1', Buffer.from('PNGDATA'), 'image/png');
    const event = eventOf({
      text: '',
      attachments: [{ contentType: 'image/*', contentUrl: `${serviceUrl()}${path}` }],
    });
    const fileId = event.attachments?.[0]?.fileId ?? '';
    const file = await connector.fetchFile?.({ fileId });
    expect(file).toMatchObject({ mimeType: 'image/png', size: 7, name: 'original' });
    expect(file?.body.toString()).toBe('PNGDATA');
    await expect(
      connector.fetchFile?.({ fileId: teamsFileId(`${serviceUrl()}v3/attachments/gone/views/original`) }),
    ).rejects.toMatchObject({ status: 404 });
    await expect(
      connector.fetchFile?.({ fileId: teamsFileId('http://169.254.169.254/latest/meta-data') }),
    ).rejects.toMatchObject({
      code: 'file.not_found',
    });
    await expect(connector.fetchFile?.({ fileId: 'F1' })).rejects.toMatchObject({ status: 404 });
    const big = teams.addAttachment('img-big', Buffer.alloc(2048), 'image/png');
    const small = createTeamsConnector(contextFor({ maxFileBytes: 1024 }));
    await expect(small.fetchFile?.({ fileId: teamsFileId(`${serviceUrl()}${big}`) })).rejects.toMatchObject({
      status: 413,
    });
  });

  it('refuses for good what the Bot Connector refuses for good, and retries a 5xx', async () => {
    const worker = createTeamsConnector(contextFor({}, store));
    const ref = { channel: 'teams-unit', tenant: 'acme', conversation: 'a:1FlakyConversation' };
    teams.failNext({ status: 502 });
    await worker.deliver?.({
      id: 'flaky-1',
      ref,
      content: { type: 'text', text: 'eventually' },
      createdAt: new Date().toISOString(),
    });
    expect(teams.callsTo(ref.conversation).map((c) => c.status)).toEqual([502, 201]);
    teams.failNext({ status: 403 });
    await worker.deliver?.({
      id: 'blocked-1',
      ref,
      content: { type: 'text', text: 'blocked' },
      createdAt: new Date().toISOString(),
    });
    expect(teams.callsTo(ref.conversation).map((c) => c.status)).toEqual([502, 201, 403]);
  });
});
