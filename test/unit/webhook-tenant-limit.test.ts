import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConnectors } from '../../app/channels';
import { acceptNormalized, acknowledge } from '../../connectors/shared/ingress';
import type { ChannelRegistry } from '../../core/channels/descriptor';
import type { ConnectorFactory } from '../../core/channels/types';
import { hubConfigSchema } from '../../core/config/schema';
import { platformWebhookDoc } from '../../core/http/route-doc';
import { buildServer } from '../../core/http/server';
import { parseJsonBody, registerRawWebhook } from '../../core/http/webhook';
import { registry as metrics } from '../../core/metrics';
import { memoryAccessLimits } from '../../core/security/access-limits';
import { rateLimitsSchema } from '../../core/security/rate-limits-schema';
import { MemoryKeyValueStore } from '../../core/storage';
import type { HubStore, InboundEvent } from '../../core/types';
import { recordingIngress } from '../support/channel-context';

/*
 * A throw-away platform channel ("heron"): verify (a header), normalize, ctx.accept, ack — as every
 * platform connector does. Its tenant's updates are limited by the hub, not by the connector.
 */
const createHeron: ConnectorFactory = (ctx) => ({
  id: ctx.config.id,
  type: 'heron',
  async register(app) {
    await registerRawWebhook(app, {
      channel: ctx.config.id,
      path: `/webhooks/${ctx.config.id}`,
      bodyLimit: 65_536,
      contentTypes: ['application/json'],
      authenticateHeaders: (request) => (request.headers['x-heron-secret'] === 'right' ? undefined : 401),
      openapi: platformWebhookDoc({
        platform: 'Heron',
        summary: 'Heron updates',
        headers: [],
        responses: {},
      }),
      handle: async (request, body, reply) => {
        const update = parseJsonBody(ctx.config.id, body, request, reply) as
          | { id: number; text: string }
          | undefined;
        if (!update) return reply;
        const event: InboundEvent = {
          id: `${ctx.config.id}:${update.id}`,
          kind: 'message',
          ref: { channel: ctx.config.id, tenant: ctx.config.tenant, conversation: 'c' },
          sender: { id: 'u' },
          receivedAt: new Date().toISOString(),
          text: update.text,
          raw: update,
        };
        return acknowledge(ctx.config.id, reply, () => acceptNormalized(ctx, ctx.config.id, { event }));
      },
    });
  },
});

const published: InboundEvent[] = [];
const config = hubConfigSchema.parse({
  channels: [
    { id: 'heron-a', type: 'heron', tenant: 'acme' },
    { id: 'heron-b', type: 'heron', tenant: 'acme' },
    { id: 'heron-c', type: 'heron', tenant: 'globex' },
  ],
});
const limits = memoryAccessLimits(
  rateLimitsSchema.parse({ webhooksPerTenant: { max: 5, windowSeconds: 60 } }),
);
const registry: ChannelRegistry = [{ type: 'heron', create: createHeron }];
let app: Awaited<ReturnType<typeof buildServer>>;

beforeAll(async () => {
  const connectors = await createConnectors(config, registry, {
    accept: recordingIngress(published),
    storage: new MemoryKeyValueStore(),
    feed: { publish: async () => {}, subscribe: async () => async () => {}, close: async () => {} },
    store: {} as HubStore,
    limits,
  });
  app = await buildServer({ config, connectors, readiness: [], channelHealth: [], limits });
});

afterAll(async () => {
  await app.close();
});

const post = (channel: string, id: number, secret = 'right') =>
  app.inject({
    method: 'POST',
    url: `/webhooks/${channel}`,
    headers: { 'content-type': 'application/json', 'x-heron-secret': secret },
    payload: JSON.stringify({ id, text: `update ${id}` }),
  });

describe('platform webhooks per tenant', () => {
  it('answers 429 with Retry-After over the tenant limit, counts it, and takes the update when resent later', async () => {
    // Forged requests are refused before they count: they cannot spend the tenant's share.
    for (let i = 0; i < 10; i++) expect((await post('heron-a', 1000 + i, 'wrong')).statusCode).toBe(401);
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await post('heron-a', i)).statusCode);
    for (let i = 4; i < 8; i++) statuses.push((await post('heron-b', i)).statusCode);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429, 429]);
    const refused = await post('heron-b', 7);
    expect(refused.statusCode).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(refused.json()).toMatchObject({ error: { code: 'rate_limited' } });
    // Nothing over the limit reached the bus; another tenant is not affected.
    expect(published.map((e) => e.id)).toEqual([
      'heron-a:0',
      'heron-a:1',
      'heron-a:2',
      'heron-a:3',
      'heron-b:4',
    ]);
    expect((await post('heron-c', 1)).statusCode).toBe(200);
    const text = await metrics.metrics();
    expect(text).toMatch(/hub_webhook_requests_total\{channel="heron-b",outcome="rate_limited"\} 4/);
    expect(text).toMatch(/hub_rate_limited_total\{scope="webhook.tenant",route="\/webhooks\/heron-b"\} 4/);
  });
});
