import { EventEmitter } from 'node:events';
import { Validator } from '@seriousme/openapi-schema-validator';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConnectors } from '../../app/channels';
import { type RunningHub, startHub } from '../../app/hub';
import { builtinPlugins } from '../../app/plugins';
import { channelRegistry } from '../../connectors/registry';
import type { WebClient } from '../../connectors/whatsapp-web/client';
import { createWhatsAppWebConnector } from '../../connectors/whatsapp-web/connector';
import { hubConfigSchema } from '../../core/config/schema';
import { registerHelpdeskWebhooks } from '../../core/handoff';
import { buildServer } from '../../core/http/server';
import { logger } from '../../core/log';
import { MemoryKeyValueStore } from '../../core/storage';
import { createStore, type KyselyStore } from '../../core/store';
import { channelContext, recordingIngress } from '../support/channel-context';
import { registeredRoutes } from '../support/routes';

// Every platform URL points at a closed local port: registering routes must not reach out.
const NOWHERE = 'http://127.0.0.1:9';

const config = hubConfigSchema.parse({
  database: { driver: 'pglite', dataDir: 'memory://' },
  ticketing: {
    webhooks: {
      zendeskSecret: 'FAKE-zendesk-secret-0000000001',
      genericSecret: 'FAKE-generic-secret-000000001',
    },
  },
  channels: [
    { id: 'rest', type: 'rest' },
    { id: 'webchat', type: 'webchat' },
    { id: 'shop-chat', type: 'webchat' },
    {
      id: 'telegram-support',
      type: 'telegram',
      botToken: '7000000042:FAKE_openapi_token_00000',
      secretToken: 'FAKE_openapi_secret_token',
      botUsername: 'FakeHubBot',
      apiRoot: NOWHERE,
    },
    {
      id: 'wa',
      type: 'whatsapp',
      phoneNumberId: '100000000000099',
      accessToken: 'EAAFAKEopenapiToken000000000000',
      appSecret: 'FAKE_meta_app_secret_openapi_000',
      verifyToken: 'FAKE_verify_openapi',
      graphApiUrl: NOWHERE,
    },
    {
      id: 'slack',
      type: 'slack',
      botToken: 'xoxb-0000000000-FAKEopenapibottoken',
      signingSecret: 'FAKE_slack_signing_secret_000000',
      botUserId: 'U000BOT',
      botId: 'B000BOT',
      apiUrl: `${NOWHERE}/api/`,
    },
    {
      id: 'teams',
      type: 'teams',
      appId: '00000000-0000-4000-8000-000000000042',
      appPassword: 'FAKE-teams-password',
      allowedTenants: ['*'],
      openIdMetadataUrl: `${NOWHERE}/openid`,
      tokenEndpoint: `${NOWHERE}/token`,
      serviceUrl: `${NOWHERE}/teams/`,
    },
  ],
});

class IdleWebClient extends EventEmitter implements WebClient {
  info = { wid: { _serialized: '15550001111@c.us' } };
  async initialize() {}
  async destroy() {}
  async sendMessage() {
    return { id: { _serialized: 'unused' } };
  }
  async getChatById() {
    return { sendStateTyping: async () => {} };
  }
  async getMessageById() {
    return undefined;
  }
}

let store: KyselyStore;
let app: FastifyInstance;
let document: OpenApiDocument;

interface Operation {
  operationId: string;
  summary: string;
  tags?: string[];
  parameters?: Array<{ name: string; in: string; required: boolean; schema: Record<string, unknown> }>;
  requestBody?: { content: Record<string, { schema: Record<string, unknown> }> };
  responses: Record<string, { description: string; content?: Record<string, { schema?: unknown }> }>;
  security?: unknown[];
  'x-hub-undocumented'?: boolean;
}
interface OpenApiDocument {
  openapi: string;
  info: { version: string };
  paths: Record<string, Record<string, Operation>>;
}

beforeAll(async () => {
  store = await createStore(config);
  const connectors = await createConnectors(config, channelRegistry, {
    accept: recordingIngress(),
    storage: new MemoryKeyValueStore(),
    feed: { publish: async () => {}, subscribe: async () => async () => {}, close: async () => {} },
    store,
  });
  connectors.push(
    createWhatsAppWebConnector(
      channelContext({ id: 'wa-web', type: 'whatsapp-web', sessionDir: '/tmp/hub-openapi-test-wweb' }),
      { createClient: async () => new IdleWebClient() },
    ),
  );
  app = await buildServer({ config, connectors, readiness: [] });
  await registerHelpdeskWebhooks(
    app,
    { config, store, accept: recordingIngress(), logger },
    builtinPlugins.helpdesks.descriptors,
  );
  await app.ready();
  const response = await app.inject({ method: 'GET', url: '/openapi.json' });
  expect(response.statusCode).toBe(200);
  document = response.json();
});

afterAll(async () => {
  await app?.close();
  await store?.close();
});

const operations = (doc: OpenApiDocument) =>
  Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, operation]) => ({ path, method, operation })),
  );

describe('GET /openapi.json', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    const validator = new Validator();
    const result = await validator.validate(document as unknown as Record<string, unknown>);
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
    expect(document.info.version).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('describes every route the server registered, each with a summary and responses', () => {
    const routes = registeredRoutes(app);
    expect(routes.length).toBeGreaterThan(25);
    const described = new Set(
      operations(document).map(({ path, method }) => `${method.toUpperCase()} ${path}`),
    );
    // HEAD is Fastify's automatic twin of each GET; the GET describes it.
    const missing = routes.filter((route) => !route.startsWith('HEAD ') && !described.has(route));
    expect(missing).toEqual([]);
    for (const { path, method, operation } of operations(document)) {
      expect(operation['x-hub-undocumented'], `${method} ${path}`).toBeUndefined();
      expect(operation.summary.length, `${method} ${path}`).toBeGreaterThan(10);
      expect(Object.keys(operation.responses).length, `${method} ${path}`).toBeGreaterThan(1);
    }
  });

  it('declares every path parameter, and operation ids are unique', () => {
    const ids = new Set<string>();
    for (const { path, operation } of operations(document)) {
      const declared = (operation.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name);
      expect(declared.sort()).toEqual([...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort());
      expect(ids.has(operation.operationId)).toBe(false);
      ids.add(operation.operationId);
    }
  });

  it("gives the REST channel's body schema, its 400 issues shape, 202 and 503", () => {
    const post = document.paths['/webhooks/rest']?.post as Operation;
    const schema = post.requestBody?.content['application/json']?.schema as {
      required: string[];
      properties: Record<string, { maxLength?: number; pattern?: string }>;
    };
    expect(schema.required.sort()).toEqual(['message', 'sender']);
    expect(schema.properties.message?.maxLength).toBe(8000);
    expect(schema.properties.message_id?.pattern).toBe('^[\\w.:-]{1,128}$');
    expect(Object.keys(post.responses)).toEqual(expect.arrayContaining(['200', '202', '400', '503']));
    expect(post.responses['400']?.content?.['application/json']?.schema).toEqual({
      $ref: '#/components/schemas/Error',
    });
    const error = (document as unknown as { components: { schemas: { Error: Record<string, unknown> } } })
      .components.schemas.Error;
    expect(JSON.stringify(error)).toContain('issues');
  });

  it('describes platform webhooks as raw payloads with their signature headers', () => {
    const headers = (path: string) =>
      (document.paths[path]?.post?.parameters ?? []).filter((p) => p.in === 'header').map((p) => p.name);
    expect(headers('/webhooks/telegram-support')).toEqual(['X-Telegram-Bot-Api-Secret-Token']);
    expect(headers('/webhooks/wa')).toEqual(['X-Hub-Signature-256']);
    expect(headers('/webhooks/slack')).toEqual(['X-Slack-Signature', 'X-Slack-Request-Timestamp']);
    expect(headers('/webhooks/teams')).toEqual(['Authorization']);
    expect(headers('/webhooks/helpdesk/zendesk')).toEqual([
      'X-Zendesk-Webhook-Signature',
      'X-Zendesk-Webhook-Signature-Timestamp',
    ]);
    expect(headers('/webhooks/helpdesk/generic')).toEqual(['X-Hub-Signature-256', 'X-Hub-Timestamp']);
    const slack = document.paths['/webhooks/slack']?.post as Operation;
    expect(Object.keys(slack.requestBody?.content ?? {})).toEqual([
      'application/json',
      'application/x-www-form-urlencoded',
    ]);
    expect(Object.keys(slack.responses)).toEqual(expect.arrayContaining(['401', '503']));
    // The helpdesk body is the hub's own documented shape.
    const zendesk = document.paths['/webhooks/helpdesk/zendesk']?.post as Operation;
    expect(zendesk.requestBody?.content['application/json']?.schema).toMatchObject({
      required: expect.arrayContaining(['event', 'ticket']),
    });
    const verification = document.paths['/webhooks/wa']?.get as Operation;
    expect(verification.parameters?.map((p) => `${p.in}:${p.name}`)).toEqual([
      'query:hub.mode',
      'query:hub.verify_token',
      'query:hub.challenge',
    ]);
  });

  it('marks admin routes with the bearer scheme and their 401/403', () => {
    for (const path of [
      '/admin/channels/{channel}/files/{fileId}',
      '/admin/channels/wa-web/qr',
      '/admin/tickets',
    ]) {
      const get = document.paths[path]?.get as Operation;
      expect(get.security, path).toEqual([{ adminToken: [] }]);
      expect(Object.keys(get.responses), path).toEqual(expect.arrayContaining(['401', '403']));
    }
    const action = document.paths['/admin/tickets/{id}/{action}']?.post as Operation;
    expect(action.parameters?.find((p) => p.name === 'action')?.schema).toMatchObject({
      enum: ['reply', 'assign', 'solve', 'close'],
    });
    expect(Object.keys(action.responses)).toContain('415');
  });

  it('lists a route registered without a description as undocumented, so the checks above fail on it', async () => {
    const bare = await buildServer({ config, connectors: [], readiness: [] });
    bare.get('/added-without-a-description', async () => ({ ok: true }));
    await bare.ready();
    const doc = (await bare.inject({ method: 'GET', url: '/openapi.json' })).json() as OpenApiDocument;
    expect(doc.paths['/added-without-a-description']?.get?.['x-hub-undocumented']).toBe(true);
    expect(document.paths['/added-without-a-description']).toBeUndefined();
    await bare.close();
  });
});

describe('GET /openapi.json of a started hub', () => {
  let hub: RunningHub | undefined;
  // Started in a hook: a whole hub (dialog training included) takes its time on a loaded machine.
  beforeAll(async () => {
    hub = await startHub(
      hubConfigSchema.parse({
        server: { port: 0 },
        database: { driver: 'pglite', dataDir: 'memory://' },
        ticketing: config.ticketing,
      }),
    );
  });
  afterAll(async () => {
    await hub?.stop();
  });

  it('describes every route the hub serves, the ones app/ adds included', async () => {
    const server = hub?.app as FastifyInstance;
    const doc = (await server.inject({ method: 'GET', url: '/openapi.json' })).json() as OpenApiDocument;
    const described = new Set(operations(doc).map(({ path, method }) => `${method.toUpperCase()} ${path}`));
    const routes = registeredRoutes(server).filter((route) => !route.startsWith('HEAD '));
    expect(routes).toEqual(expect.arrayContaining(['GET /admin/models', 'POST /admin/models/{model}/reset']));
    expect(routes.filter((route) => !described.has(route))).toEqual([]);
    for (const { path, method, operation } of operations(doc)) {
      expect(operation['x-hub-undocumented'], `${method} ${path}`).toBeUndefined();
    }
  });
});
