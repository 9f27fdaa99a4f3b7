import Fastify from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../core/config/load';
import { budgetedLlm } from '../../core/llm/budget';
import { registry } from '../../core/metrics';
import { AccessLimits, memoryAccessLimits } from '../../core/security/access-limits';
import { registerAuthThrottle } from '../../core/security/auth-throttle';
import { memoryBackoffStore, redisLimitStore } from '../../core/security/limit-store';
import { type RateLimitsConfig, rateLimitsSchema } from '../../core/security/rate-limits-schema';
import { HubError, type LlmClient } from '../../core/types';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const PREFIX = `test-ratelimit-${process.pid}-${Date.now()}`;
const connections: Redis[] = [];

afterAll(async () => {
  const [redis] = connections;
  if (redis) {
    const keys = await redis.keys(`${PREFIX}*`);
    if (keys.length) await redis.del(...keys);
  }
  await Promise.all(connections.map((c) => c.quit()));
});

const redisConnection = () => {
  const redis = new Redis(REDIS_URL);
  connections.push(redis);
  return redis;
};

const limitsWith = (overrides: Record<string, unknown>): RateLimitsConfig =>
  rateLimitsSchema.parse(overrides);

async function metric(scope: string): Promise<number> {
  const values = (await registry.getSingleMetric('hub_rate_limited_total')?.get())?.values ?? [];
  return values.filter((v) => v.labels.scope === scope).reduce((sum, v) => sum + v.value, 0);
}

describe('security.rateLimits config', () => {
  it('has defaults a customer never reaches and reports an unknown key with the closest one', () => {
    const config = parseConfig({}, {});
    expect(config.security.rateLimits.rest.perSender).toEqual({ max: 30, windowSeconds: 60 });
    expect(config.security.rateLimits.authFailures.max).toBe(10);
    expect(() => parseConfig({ security: { rateLimits: { rest: { perSendr: { max: 5 } } } } }, {})).toThrow(
      /perSendr.*perSender/s,
    );
  });
});

describe('access limits', () => {
  it('refuses past max in the window with a Retry-After within it, per key, and counts it', async () => {
    const limits = memoryAccessLimits(limitsWith({ rest: { perSender: { max: 3, windowSeconds: 60 } } }));
    const before = await metric('rest.sender');
    const verdicts = [];
    for (let i = 0; i < 5; i++) verdicts.push(await limits.take('rest.sender', 'mallory', '/webhooks/rest'));
    expect(verdicts.map((v) => v.limited)).toEqual([false, false, false, true, true]);
    expect(verdicts[4]?.retryAfterSeconds).toBeGreaterThan(55);
    expect(verdicts[4]?.retryAfterSeconds).toBeLessThanOrEqual(60);
    expect((await limits.take('rest.sender', 'alice', '/webhooks/rest')).limited).toBe(false);
    expect(await metric('rest.sender')).toBe(before + 2);
  });

  it('limits nothing when disabled', async () => {
    const limits = memoryAccessLimits(
      limitsWith({ enabled: false, rest: { perSender: { max: 1, windowSeconds: 60 } } }),
    );
    for (let i = 0; i < 5; i++) expect((await limits.take('rest.sender', 'x', 'r')).limited).toBe(false);
  });

  it('caps open sockets per address and frees a slot once, when its socket closes', () => {
    const limits = memoryAccessLimits(limitsWith({ webchat: { maxSocketsPerIp: 2 } }));
    const first = limits.openSocket('10.0.0.1', 'ws');
    expect(limits.openSocket('10.0.0.1', 'ws')).toBeDefined();
    expect(limits.openSocket('10.0.0.1', 'ws')).toBeUndefined();
    expect(limits.openSocket('10.0.0.2', 'ws')).toBeDefined();
    first?.();
    first?.();
    expect(limits.openSocket('10.0.0.1', 'ws')).toBeDefined();
    expect(limits.openSocket('10.0.0.1', 'ws')).toBeUndefined();
  });

  it('shares one limit between replicas through Redis', async () => {
    const config = limitsWith({ rest: { perSender: { max: 10, windowSeconds: 60 } } });
    const replicas = [0, 1].map(() => {
      const redis = redisConnection();
      return new AccessLimits(
        config,
        redisLimitStore(redis, PREFIX),
        redisLimitStore(redis, `${PREFIX}:backoff`, { exponentialBackoff: true }),
      );
    });
    const verdicts = await Promise.all(
      Array.from({ length: 30 }, (_, i) => replicas[i % 2]?.take('rest.sender', 'shared', 'r')),
    );
    expect(verdicts.filter((v) => !v?.limited)).toHaveLength(10);
    expect(verdicts.filter((v) => v?.limited).every((v) => (v?.retryAfterSeconds ?? 0) >= 1)).toBe(true);
  });

  it('lets requests through when the limit store fails', async () => {
    const broken = {
      incr: () => Promise.reject(new Error('down')),
      read: () => Promise.reject(new Error('down')),
    };
    const limits = new AccessLimits(limitsWith({ rest: { perSender: { max: 1 } } }), broken, broken);
    for (let i = 0; i < 3; i++) expect((await limits.take('rest.sender', 'x', 'r')).limited).toBe(false);
  });
});

describe('back-off stores', () => {
  for (const [name, make] of [
    ['memory', () => memoryBackoffStore()],
    ['redis', () => redisLimitStore(redisConnection(), `${PREFIX}:b`, { exponentialBackoff: true })],
  ] as const) {
    it(`${name}: each hit past max doubles the window from that hit`, async () => {
      const store = make();
      const ttls: number[] = [];
      for (let i = 0; i < 5; i++) ttls.push((await store.incr('ip', 1000, 2)).ttlMs);
      // Hits 3, 4, 5 are past max: 1 s, 2 s, 4 s from each hit.
      expect(ttls[2]).toBeGreaterThan(900);
      expect(ttls[3]).toBeGreaterThan(1900);
      expect(ttls[4]).toBeGreaterThan(3900);
      expect(ttls[4]).toBeLessThanOrEqual(4000);
      const read = await store.read('ip', 1000);
      expect(read.current).toBe(5);
      expect(read.ttlMs).toBeGreaterThan(3800);
      // Still refused after the configured window: the backed-off one holds.
      await new Promise((r) => setTimeout(r, 1100));
      expect((await store.read('ip', 1000)).current).toBe(5);
      expect((await store.read('other', 1000)).current).toBe(0);
    });
  }
});

describe('failed authentication back-off', () => {
  async function guardedApp(limits: AccessLimits) {
    const app = Fastify();
    registerAuthThrottle(app, limits);
    app.get(
      '/admin/thing',
      { config: { openapi: { summary: 's', tags: ['admin'], responses: {} } } },
      (request, reply) =>
        request.headers.authorization === 'Bearer right'
          ? reply.send({ ok: true })
          : reply.code(401).send({ error: { code: 'admin.unauthorized', message: 'no' } }),
    );
    app.get('/public', () => ({ ok: true }));
    app.post(
      '/webhooks/teams',
      { config: { openapi: { summary: 's', tags: ['webhooks'], responses: {} } } },
      (_request, reply) => reply.code(401).send({ error: { code: 'unauthorized', message: 'no' } }),
    );
    await app.ready();
    return app;
  }

  it('answers 429 after max failures, the wait growing up to the cap, other addresses unaffected', async () => {
    const limits = memoryAccessLimits(
      limitsWith({ authFailures: { max: 3, windowSeconds: 10, maxBlockSeconds: 40 } }),
    );
    const app = await guardedApp(limits);
    const attempt = (token: string, remoteAddress = '203.0.113.7') =>
      app.inject({ url: '/admin/thing', headers: { authorization: `Bearer ${token}` }, remoteAddress });
    const statuses: number[] = [];
    const waits: number[] = [];
    for (let i = 0; i < 9; i++) {
      const response = await attempt(`wrong-${i}`);
      statuses.push(response.statusCode);
      if (response.statusCode === 429) {
        waits.push(Number(response.headers['retry-after']));
        expect(response.json()).toMatchObject({ error: { code: 'rate_limited' } });
      }
    }
    expect(statuses).toEqual([401, 401, 401, 429, 429, 429, 429, 429, 429]);
    // 10 s, 20 s, 40 s, then held at the cap (counting stops there, so the wait only runs down).
    expect(waits.slice(0, 3)).toEqual([10, 20, 40]);
    expect(Math.max(...waits)).toBeLessThanOrEqual(40);
    // Blocked even with the right token from that address; another address signs in.
    expect((await attempt('right')).statusCode).toBe(429);
    expect((await attempt('right', '198.51.100.1')).statusCode).toBe(200);
    // Requests that do not authenticate are not held up.
    expect((await app.inject({ url: '/public', remoteAddress: '203.0.113.7' })).statusCode).toBe(200);
    await app.close();
  });

  it("does not count a platform webhook's failed signature, nor lock the platform out", async () => {
    const limits = memoryAccessLimits(limitsWith({ authFailures: { max: 2, windowSeconds: 10 } }));
    const app = await guardedApp(limits);
    const remoteAddress = '52.112.0.9';
    for (let i = 0; i < 5; i++) {
      const response = await app.inject({
        method: 'POST',
        url: '/webhooks/teams',
        headers: { authorization: 'Bearer expired-jwt' },
        remoteAddress,
      });
      expect(response.statusCode).toBe(401);
    }
    const admin = await app.inject({
      url: '/admin/thing',
      headers: { authorization: 'Bearer right' },
      remoteAddress,
    });
    expect(admin.statusCode).toBe(200);
    await app.close();
  });
});

describe('LLM budget', () => {
  function countingLlm() {
    const calls: string[] = [];
    const llm: LlmClient = {
      available: () => true,
      async chat(request) {
        calls.push(request.route?.conversation ?? '');
        return { text: 'ok', finishReason: 'stop' } as Awaited<ReturnType<LlmClient['chat']>>;
      },
    };
    return { llm, calls };
  }

  it('refuses past the conversation budget before calling the model, with a coded error', async () => {
    const limits = memoryAccessLimits(
      limitsWith({ llm: { perConversation: { max: 2, windowSeconds: 60 }, perTenant: { max: 100 } } }),
    );
    const { llm, calls } = countingLlm();
    const budgeted = budgetedLlm(llm, limits);
    const ask = (conversation: string) =>
      budgeted.chat({ messages: [{ role: 'user', content: 'hi' }], route: { conversation, tenant: 't1' } });
    await ask('c1');
    await ask('c1');
    const refused = await ask('c1').catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(HubError);
    expect((refused as HubError).code).toBe('llm.budget_exceeded');
    expect(calls).toEqual(['c1', 'c1']);
    await ask('c2');
    expect(calls).toEqual(['c1', 'c1', 'c2']);
  });

  it('refuses past the tenant budget across conversations', async () => {
    const limits = memoryAccessLimits(
      limitsWith({ llm: { perConversation: { max: 100 }, perTenant: { max: 3, windowSeconds: 60 } } }),
    );
    const { llm, calls } = countingLlm();
    const budgeted = budgetedLlm(llm, limits);
    const outcomes = await Promise.all(
      ['a', 'b', 'c', 'd', 'e'].map((conversation) =>
        budgeted
          .chat({ messages: [{ role: 'user', content: 'hi' }], route: { conversation, tenant: 't2' } })
          .then(
            () => 'ok',
            (error: HubError) => error.code,
          ),
      ),
    );
    expect(outcomes.filter((o) => o === 'ok')).toHaveLength(3);
    expect(outcomes.filter((o) => o === 'llm.budget_exceeded')).toHaveLength(2);
    expect(calls).toHaveLength(3);
  });
});
