import { createHmac, timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { channelRegistry } from '../../connectors/registry';
import { acceptNormalized, acknowledge } from '../../connectors/shared/ingress';
import { ignore, type Normalized } from '../../connectors/shared/normalized';
import { parseChannelOptions } from '../../connectors/shared/options';
import { splitText } from '../../connectors/shared/text';
import { checkChannelsOnline, validateChannelOptions, validateChannels } from '../../connectors/validate';
import type { ChannelDescriptor, ChannelRegistry } from '../../core/channels/descriptor';
import type { ConnectorFactory, OnlineCheck } from '../../core/channels/types';
import { hubConfigSchema } from '../../core/config/schema';
import { platformWebhookDoc } from '../../core/http/route-doc';
import { parseJsonBody, registerRawWebhook } from '../../core/http/webhook';
import { DeliveryError, type PlatformSender } from '../../core/outbound';
import { HubError, type OutboundMessage, renderAsText } from '../../core/types';
import { channelContext } from '../support/channel-context';
import { type Harness, pushConnectorCases } from './connector-cases';

/*
 * A throw-away channel, "pigeon", written as a new channel's folder would be: options, verify,
 * normalize, render, sender, factory, online check and one descriptor. It exists only in this test.
 * Its platform signs each webhook with HMAC-SHA256 over the body and takes replies at POST /messages.
 */

const pigeonOptionsSchema = z.object({
  id: z.string(),
  tenant: z.string().default('default'),
  secret: z.string({ error: 'is missing' }).min(16, 'must be at least 16 characters'),
  apiUrl: z.url({ error: 'must be a URL such as https://api.pigeon.example' }),
});
const pigeonHints = { secret: 'set secret: ${PIGEON_SECRET} and export the signing secret' };
const PIGEON_TEXT_LIMIT = 1_000;

interface PigeonUpdate {
  id: number;
  from: string;
  text?: string;
  button?: string;
  fromBot?: boolean;
}
interface PigeonCall {
  to: string;
  text: string;
  buttons: Array<{ id: string; title: string }>;
}

const signPigeon = (secret: string, body: string) => createHmac('sha256', secret).update(body).digest('hex');

function signatureMatches(secret: string, received: unknown, body: Buffer): boolean {
  if (typeof received !== 'string') return false;
  const expected = Buffer.from(signPigeon(secret, body.toString('utf8')));
  const given = Buffer.from(received);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

function normalizePigeon(update: PigeonUpdate, channel: string, tenant: string): Normalized {
  if (update.fromBot) return ignore('own_message');
  const base = {
    id: `${channel}:${update.id}`,
    ref: { channel, tenant, conversation: update.from },
    sender: { id: update.from },
    receivedAt: new Date().toISOString(),
    addressedToBot: true,
    platformMessageId: String(update.id),
    raw: update,
  };
  if (update.button) return { event: { ...base, kind: 'action', action: { id: update.button } } };
  if (typeof update.text === 'string') return { event: { ...base, kind: 'message', text: update.text } };
  return ignore('unsupported_update');
}

function pigeonSender(channel: string, apiUrl: string): PlatformSender<PigeonCall> {
  return {
    channel,
    render(message: OutboundMessage): PigeonCall[] {
      const to = message.ref.conversation;
      const { content } = message;
      if (content.type === 'typing') return [];
      if (content.type === 'choices') return [{ to, text: content.text, buttons: content.choices }];
      return splitText(renderAsText(content), PIGEON_TEXT_LIMIT).map((text) => ({ to, text, buttons: [] }));
    },
    rules: (message) => [
      { key: `pigeon:${channel}:${message.ref.conversation}`, limit: 20, windowMs: 1_000 },
    ],
    async send(_message, call) {
      const response = await fetch(`${apiUrl}/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(call),
      });
      if (!response.ok)
        throw new DeliveryError(`pigeon.http_${response.status}`, 'pigeon refused the message', {
          retryable: response.status >= 500,
        });
      return ((await response.json()) as { id: string }).id;
    },
  };
}

const createPigeonConnector: ConnectorFactory = (ctx) => {
  const options = parseChannelOptions(ctx, pigeonOptionsSchema, pigeonHints);
  const channel = options.id;
  const sender = pigeonSender(channel, options.apiUrl);
  return {
    id: channel,
    type: 'pigeon',
    async register(app) {
      await registerRawWebhook(app, {
        channel,
        path: `/webhooks/${channel}`,
        bodyLimit: ctx.hub.server.bodyLimitBytes,
        contentTypes: ['application/json'],
        handle: async (request, body, reply) => {
          if (!signatureMatches(options.secret, request.headers['x-pigeon-signature'], body))
            return reply.code(401).send({ error: { code: 'pigeon.bad_signature', message: 'Unauthorized' } });
          const update = parseJsonBody(channel, body, request, reply) as PigeonUpdate | undefined;
          if (update === undefined) return reply;
          const normalized = normalizePigeon(update, channel, options.tenant);
          return acknowledge(channel, reply, () => acceptNormalized(ctx, channel, normalized));
        },
        openapi: platformWebhookDoc({
          platform: 'Pigeon',
          summary: 'Pigeon updates',
          headers: [{ name: 'X-Pigeon-Signature', description: 'HMAC of the raw body', required: true }],
          responses: { 200: { description: 'Accepted' } },
        }),
      });
    },
    async deliver(message) {
      if (!ctx.outbound) throw new HubError('outbound.missing', 'no outbound scheduler in this process');
      await ctx.outbound.deliver(message, sender);
    },
  };
};

const checkPigeonOnline: OnlineCheck = async (config, { signal }) => {
  const options = parseChannelOptions({ config }, pigeonOptionsSchema, pigeonHints);
  const response = await fetch(`${options.apiUrl}/me`, { signal });
  if (!response.ok) throw new Error(`GET /me: ${response.status}. Fix: ${pigeonHints.secret}.`);
  return `bot ${((await response.json()) as { name: string }).name}`;
};

const pigeonChannel: ChannelDescriptor = {
  type: 'pigeon',
  options: { schema: pigeonOptionsSchema, hints: pigeonHints },
  create: createPigeonConnector,
  online: checkPigeonOnline,
};

// The one line a new channel adds to connectors/registry.ts.
const registry: ChannelRegistry = [...channelRegistry, pigeonChannel];

/** Pigeon's platform: records what the bot posted and answers who the bot is. */
let platform: FastifyInstance;
let platformUrl: string;
const posted: PigeonCall[] = [];

async function startPlatform(): Promise<void> {
  platform = Fastify();
  platform.post('/messages', async (request) => {
    posted.push(request.body as PigeonCall);
    return { id: `msg-${posted.length}` };
  });
  platform.get('/me', async () => ({ name: 'FakePigeonBot' }));
  platformUrl = await platform.listen({ host: '127.0.0.1', port: 0 });
}

const SECRET = 'FAKE_pigeon_secret_0123456789';
const pigeonUpdate = (id: number, user: string, extra: Partial<PigeonUpdate>) => ({
  id,
  from: user,
  ...extra,
});

const pigeonHarness: Harness = {
  type: 'pigeon',
  async start() {
    await startPlatform();
    return { config: { secret: SECRET, apiUrl: platformUrl }, stop: () => platform.close() };
  },
  signedHeaders: (body) => ({ 'x-pigeon-signature': signPigeon(SECRET, body) }),
  forgeries: (body) => [
    { name: 'missing signature', headers: {} as Record<string, string> },
    { name: 'wrong secret', headers: { 'x-pigeon-signature': signPigeon('another_secret_00000', body) } },
    { name: 'signature of another body', headers: { 'x-pigeon-signature': signPigeon(SECRET, `${body} `) } },
  ],
  scenario: {
    text: (id, user, text) => pigeonUpdate(id, user, { text }),
    echo: (id) => pigeonUpdate(id, 'bot', { text: 'my own words', fromBot: true }),
    action: (id, user, value) => ({
      contentType: 'application/json',
      body: JSON.stringify(pigeonUpdate(id, user, { button: value })),
    }),
  },
  visible: (conversation) =>
    posted
      .filter((call) => call.to === conversation)
      .map((call) => ({ text: call.text, buttons: call.buttons.map((button) => button.title) })),
  conversationOf: (user) => user,
  textLimit: PIGEON_TEXT_LIMIT,
};

describe('a channel registered with one line', () => {
  const pigeonBlock = { id: 'coop', type: 'pigeon', tenant: 'acme' };

  it('is unknown to the hub until its line is in the registry', () => {
    const config = hubConfigSchema.parse({
      channels: [{ ...pigeonBlock, secret: SECRET, apiUrl: 'http://x' }],
    });
    expect(() => validateChannels(config)).toThrow(/unknown channel type "pigeon"/);
    expect(() => validateChannels(config, registry)).not.toThrow();
  });

  it('has its block checked by `hub validate` through its descriptor, with its own fixes', () => {
    const config = hubConfigSchema.parse({ channels: [{ ...pigeonBlock, apiUrl: 'not a url' }] });
    expect(() => validateChannelOptions(config, registry)).toThrow(
      /channel "coop" \(pigeon\) is not configured correctly:\n {2}- secret: is missing\. Fix: set secret: \$\{PIGEON_SECRET\}/,
    );
    expect(() => validateChannelOptions(config, registry)).toThrow(/apiUrl: must be a URL/);
    expect(() =>
      pigeonChannel.create(channelContext({ ...pigeonBlock, apiUrl: 'http://127.0.0.1:9' })),
    ).toThrow(/secret: is missing/);
  });

  describe('`hub validate --online`', () => {
    beforeAll(startPlatform);
    afterAll(() => platform.close());

    it('runs its online check', async () => {
      const config = hubConfigSchema.parse({
        channels: [{ ...pigeonBlock, secret: SECRET, apiUrl: platformUrl }],
      });
      expect(await checkChannelsOnline(config, { registry, timeoutMs: 5_000 })).toEqual([
        { channel: 'coop', type: 'pigeon', outcome: 'ok', detail: 'bot FakePigeonBot' },
      ]);
    });
  });
});

describe('push connector conformance: a throw-away channel', () =>
  pushConnectorCases(pigeonHarness, registry));
