import { spawn } from 'node:child_process';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { formatModelsStatus } from '../../app/commands/models';
import { hubConfigSchema } from '../../core/config/schema';
import {
  createCanaryControl,
  createLlmClient,
  type LlmConfig,
  type LlmRouter,
  type ModelsStatus,
  RedisCanaryStore,
  splitPoint,
} from '../../core/llm';
import { registerModelAdminRoutes } from '../../core/llm/admin-route';
import { registry } from '../../core/metrics';
import type { ChatMessage } from '../../core/types';
import { type OpenAiEmulator, startOpenAiEmulator } from '../emulators/openai-emulator';
import { redisClusterAvailable, startRedisCluster } from '../support/redis-cluster';

const ROOT = join(import.meta.dirname, '..', '..');
const MODEL = 'Qwen/Qwen3-14B';
const STABLE = 'qwen3-14b-2025-06';
const CANARY = 'qwen3-14b-2025-09';

let stable: OpenAiEmulator;
let canary: OpenAiEmulator;

beforeAll(async () => {
  [stable, canary] = await Promise.all([
    startOpenAiEmulator({ model: MODEL, apiKey: 'key' }),
    startOpenAiEmulator({ model: MODEL, apiKey: 'key' }),
  ]);
});
afterAll(() => Promise.all([stable.close(), canary.close()]));
beforeEach(() => {
  stable.reset();
  canary.reset();
});

/** Two releases of the main model, the second a canary of the first; parsed by the real schema. */
function canaryConfig(share: number, rollback: Record<string, unknown> = {}): LlmConfig {
  return hubConfigSchema.parse({
    llm: {
      enabled: true,
      apiKey: 'key',
      timeoutMs: 1_000,
      maxRetries: 0,
      breaker: { failureThreshold: 1_000, resetMs: 60_000 },
      models: [
        { name: 'main', baseUrl: stable.url, model: MODEL, version: STABLE, role: 'main' },
        {
          name: 'main-next',
          baseUrl: canary.url,
          model: MODEL,
          version: CANARY,
          role: 'main',
          canary: { of: 'main', share },
        },
      ],
      rollback: { windowMs: 60_000, minRequests: 5, maxErrorRate: 0.5, maxFallbackRate: 0.5, ...rollback },
    },
  }).llm;
}

const routerWith = (config: LlmConfig, options: Parameters<typeof createLlmClient>[1] = {}) =>
  createLlmClient(config, { retryBaseMs: 5, retryMaxMs: 20, ...options }) as LlmRouter;

const ask = (text: string): ChatMessage[] => [
  { role: 'system', content: 'You are a helpful customer-service assistant.' },
  { role: 'user', content: text },
];

/** One answer request of a conversation, as core/dialog/answer.ts sends it. */
const answerIn = (router: LlmRouter, conversation: string, text = `question from ${conversation}`) =>
  router.chat({ messages: ask(text), route: { task: 'answer', conversation } });

/** Which emulator saw each conversation (the conversation's name is in its question). */
function conversationsAt(emulator: OpenAiEmulator): string[] {
  return emulator.chatRequests().map((body) => {
    const user = body.messages?.find((m) => m.role === 'user');
    return String(user?.content).replace('question from ', '').split(' #')[0] as string;
  });
}

async function seriesValue(name: string, labels: Record<string, string>): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return 0;
  const { values } = await metric.get();
  return values
    .filter((v) =>
      Object.entries(labels).every(([key, value]) => (v.labels as Record<string, unknown>)[key] === value),
    )
    .reduce((sum, v) => sum + v.value, 0);
}

describe('canary split', () => {
  it('puts each conversation on one side, with the configured share over many conversations', () => {
    const keys = Array.from({ length: 20_000 }, (_, i) => `rest:default:customer-${i}`);
    const inCanary = keys.filter((key) => splitPoint('main-next', key) < 0.1).length;
    expect(inCanary / keys.length).toBeGreaterThan(0.09);
    expect(inCanary / keys.length).toBeLessThan(0.11);
    // Raising the share keeps every conversation already on the canary there.
    const atTwenty = new Set(keys.filter((key) => splitPoint('main-next', key) < 0.2));
    expect(keys.filter((key) => splitPoint('main-next', key) < 0.1).every((key) => atTwenty.has(key))).toBe(
      true,
    );
  });

  it('sends the share of conversations to the canary emulator, every turn of one to the same version', async () => {
    const router = routerWith(canaryConfig(0.3));
    const conversations = Array.from({ length: 200 }, (_, i) => `rest:default:c${i}`);
    const results = [];
    for (const conversation of conversations) {
      for (const turn of [1, 2]) {
        results.push(await answerIn(router, conversation, `question from ${conversation} #${turn}`));
      }
    }
    const atCanary = conversationsAt(canary);
    const atStable = conversationsAt(stable);
    expect(atCanary.length + atStable.length).toBe(400);
    const canarySet = new Set(atCanary);
    // Sticky: no conversation was answered by both versions.
    expect(atStable.filter((c) => canarySet.has(c))).toEqual([]);
    // 30% of 200, within about three standard deviations (sd ≈ 6.5 conversations).
    expect(canarySet.size).toBeGreaterThan(60 - 20);
    expect(canarySet.size).toBeLessThan(60 + 20);
    expect(atCanary.length).toBe(canarySet.size * 2);
    // Each answer says which release wrote it.
    const versions = new Set(results.map((r) => r.release?.version));
    expect(versions).toEqual(new Set([STABLE, CANARY]));
    expect(results.every((r) => r.release?.model === 'main')).toBe(true);
  });

  it('keeps a request without a conversation key on stable, and plans the stable release as the first fallback', async () => {
    const router = routerWith(canaryConfig(1));
    await router.chat({ messages: ask('no key') });
    expect(canary.chatRequests()).toHaveLength(0);
    expect(stable.chatRequests()).toHaveLength(1);
    const plan = router.plan({ messages: ask('x'), route: { conversation: 'rest:default:a' } });
    expect(plan).toEqual([
      { endpoint: 'main-next', model: MODEL, route: 'canary' },
      { endpoint: 'main', model: MODEL, route: 'fallback' },
    ]);
  });
});

describe('per-version metrics', () => {
  it('counts latency, errors and fallbacks under each version', async () => {
    const router = routerWith(canaryConfig(1, { minRequests: 1_000 }));
    const before = {
      canaryOk: await seriesValue('hub_llm_version_request_seconds', { version: CANARY, outcome: 'ok' }),
      canaryErrors: await seriesValue('hub_llm_version_errors_total', { version: CANARY }),
      canaryFallbacks: await seriesValue('hub_llm_version_fallbacks_total', { version: CANARY }),
      stableOk: await seriesValue('hub_llm_version_request_seconds', { version: STABLE, outcome: 'ok' }),
    };
    await answerIn(router, 'rest:default:m1');
    canary.fail({ status: 500 });
    const rescued = await answerIn(router, 'rest:default:m2');
    expect(rescued.release).toEqual({ model: 'main', version: STABLE });
    // The histogram's count series is the request count per version and outcome.
    expect(
      await seriesValue('hub_llm_version_request_seconds', { version: CANARY, outcome: 'ok' }),
    ).toBeGreaterThan(0);
    const metrics = await registry.metrics();
    expect(metrics).toMatch(
      new RegExp(
        `hub_llm_version_request_seconds_count\\{model="main",version="${CANARY}",outcome="ok"\\} \\d+`,
      ),
    );
    expect(metrics).toMatch(
      new RegExp(
        `hub_llm_version_errors_total\\{model="main",version="${CANARY}",code="llm.unavailable"\\} \\d+`,
      ),
    );
    const count = (name: string, labels: Record<string, string>) => seriesValue(name, labels);
    expect(await count('hub_llm_version_errors_total', { version: CANARY })).toBe(before.canaryErrors + 1);
    expect(await count('hub_llm_version_fallbacks_total', { version: CANARY })).toBe(
      before.canaryFallbacks + 1,
    );
    expect(
      (await registry.getSingleMetricAsString('hub_llm_version_request_seconds')).includes(
        `version="${STABLE}"`,
      ),
    ).toBe(true);
    expect(await count('hub_llm_canary_share', { model: 'main', version: CANARY })).toBe(1);
  });
});

describe('automatic rollback', () => {
  it('rolls a failing canary back, with no failed answer, and sends its conversations to stable', async () => {
    const router = routerWith(canaryConfig(0.5));
    const conversations = Array.from({ length: 80 }, (_, i) => `rest:default:r${i}`);
    const canaried = conversations.filter((c) => splitPoint('main-next', c) < 0.5);
    expect(canaried.length).toBeGreaterThan(10);
    canary.fail({ status: 503, times: 10_000 });

    const answered = [];
    for (const conversation of conversations) answered.push(await answerIn(router, conversation));
    // Every customer got a model answer: the stable release took over each failed canary attempt.
    expect(answered.every((r) => r.release?.version === STABLE)).toBe(true);
    // Judged after minRequests (5) canary requests, then no more traffic.
    expect(canary.chatRequests()).toHaveLength(5);

    const status = await router.canary.status();
    const main = status.models.find((m) => m.model === 'main');
    expect(main?.rollback).toMatchObject({ version: CANARY, reason: 'error_rate' });
    expect(main?.rollback?.window).toEqual({ requests: 5, errors: 5, fallbacks: 5 });
    expect(main?.versions.map((v) => [v.version, v.configuredShare, v.effectiveShare])).toEqual([
      [STABLE, 0.5, 1],
      [CANARY, 0.5, 0],
    ]);
    expect(main?.versions[0]?.window?.requests).toBe(conversations.length - 5);
    expect(await seriesValue('hub_llm_canary_rolled_back', { model: 'main', version: CANARY })).toBe(1);
    expect(await seriesValue('hub_llm_canary_share', { model: 'main', version: CANARY })).toBe(0);

    // It stays rolled back, whatever the canary does now, until an operator resets it.
    canary.reset();
    await answerIn(router, canaried[0] as string);
    expect(canary.chatRequests()).toHaveLength(0);
    expect(await router.canary.reset('main')).toBe(true);
    const back = await answerIn(router, canaried[0] as string);
    expect(back.release?.version).toBe(CANARY);
    expect(await seriesValue('hub_llm_canary_rolled_back', { model: 'main', version: CANARY })).toBe(0);
  });

  it('rolls back on the fallback rate when the canary circuit is open', async () => {
    const router = routerWith(
      hubConfigSchema.parse({
        llm: {
          ...canaryConfig(1),
          breaker: { failureThreshold: 1, resetMs: 60_000 },
          rollback: { windowMs: 60_000, minRequests: 4, maxErrorRate: 1, maxFallbackRate: 0.5 },
        },
      }).llm,
    );
    canary.fail({ status: 500, times: 1 });
    for (let i = 0; i < 4; i++) await answerIn(router, `rest:default:f${i}`);
    // One real failure; the open circuit failed the other three fast, each one a fallback.
    expect(canary.chatRequests()).toHaveLength(1);
    const [main] = (await router.canary.status()).models;
    expect(main?.rollback).toMatchObject({ reason: 'fallback_rate', window: { requests: 4, fallbacks: 4 } });
  });

  it.each(['redis', ...(redisClusterAvailable ? ['redis-cluster'] : [])])(
    'shares the rollback through %s: one process trips it, another routes by it and resets it',
    async (driver) => {
      // On a cluster one model's counters and rollback share a slot (its MULTI and DEL need one).
      const cluster = driver === 'redis-cluster' ? await startRedisCluster() : undefined;
      const redis = cluster?.client ?? new Redis('redis://127.0.0.1:6379');
      const prefix = `test-canary-${process.pid}-${Date.now()}`;
      try {
        const config = canaryConfig(1);
        const store = () => new RedisCanaryStore(redis, prefix, 60_000);
        const worker = routerWith(config, { canary: createCanaryControl(config, store(), { refreshMs: 0 }) });
        const other = routerWith(config, { canary: createCanaryControl(config, store(), { refreshMs: 0 }) });
        canary.fail({ status: 500, times: 10_000 });
        for (let i = 0; i < 5; i++) await answerIn(worker, `rest:default:w${i}`);
        expect(canary.chatRequests()).toHaveLength(5);
        // The other process has not failed once, yet routes nothing to the canary.
        await answerIn(other, 'rest:default:o1');
        expect(canary.chatRequests()).toHaveLength(5);
        const seen = (await other.canary.status()).models[0];
        expect(seen?.rollback?.reason).toBe('error_rate');
        expect(seen?.versions[1]?.window).toEqual({ requests: 5, errors: 5, fallbacks: 5 });
        expect(seen?.versions[0]?.window?.requests).toBe(1);

        canary.reset();
        expect(await other.canary.reset('main')).toBe(true);
        expect((await answerIn(worker, 'rest:default:w9')).release?.version).toBe(CANARY);
        expect((await worker.canary.status()).models[0]?.versions[1]?.window).toEqual({
          requests: 1,
          errors: 0,
          fallbacks: 0,
        });
      } finally {
        if (cluster) await cluster.stop();
        else {
          const keys = await redis.keys(`${prefix}:*`);
          if (keys.length) await redis.del(...keys);
          await redis.quit();
        }
      }
    },
    60_000,
  );
});

describe('hub models status', () => {
  let app: FastifyInstance;
  let router: LlmRouter;

  beforeAll(async () => {
    router = routerWith(canaryConfig(0.5));
    app = Fastify();
    registerModelAdminRoutes(app, router.canary);
    await app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(() => app.close());

  function hubCli(...args: string[]): Promise<{ code: number | null; out: string }> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [join(ROOT, 'bin', 'hub.mjs'), ...args], {
        cwd: ROOT,
        env: { ...process.env, HUB_ADMIN_TOKEN: '', LOG_LEVEL: 'warn' },
      });
      let out = '';
      child.stdout.on('data', (chunk) => {
        out += chunk;
      });
      child.stderr.on('data', (chunk) => {
        out += chunk;
      });
      child.on('exit', (code) => resolve({ code, out }));
    });
  }

  it('prints the split, the window and the rollback of the running hub, and resets it', async () => {
    canary.fail({ status: 500, times: 10_000 });
    for (let i = 0; i < 40; i++) await answerIn(router, `rest:default:s${i}`);
    const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;

    const status = await hubCli('models', 'status', '--url', url);
    expect(status.code, status.out).toBe(0);
    expect(status.out).toContain('main (main)');
    expect(status.out).toMatch(
      new RegExp(
        `stable {2}${STABLE} .*split 50% configured, 100% effective {2}window requests=\\d+ errors=0`,
      ),
    );
    expect(status.out).toMatch(
      new RegExp(
        `canary {2}${CANARY} .*split 50% configured, 0% effective {2}window requests=5 errors=5 fallbacks=5`,
      ),
    );
    expect(status.out).toMatch(/ROLLED BACK qwen3-14b-2025-09 at .*: error_rate/);

    const json = JSON.parse((await hubCli('models', 'status', '--url', url, '--json')).out) as ModelsStatus;
    expect(json.models[0]?.rollback?.version).toBe(CANARY);

    const reset = await hubCli('models', 'reset', 'main', '--url', url);
    expect(reset.out).toContain('main: rollback lifted');
    const after = formatModelsStatus(await router.canary.status());
    expect(after).toContain('split 50% configured, 50% effective');
    expect(after).toContain('canary live');

    const unknown = await hubCli('models', 'reset', 'nope', '--url', url);
    expect(unknown.code).toBe(1);
    expect(unknown.out).toMatch(/No model "nope" with a canary/);
  }, 60_000);

  it('refuses a request from outside without the admin token', async () => {
    const response = await app.inject({
      method: 'GET',
      url: '/admin/models',
      remoteAddress: '10.0.0.5',
      headers: { host: 'hub.example.com' },
    });
    expect(response.statusCode).toBe(403);
  });
});

describe('canary configuration', () => {
  const parse = (models: unknown[], fallback?: string[]) =>
    hubConfigSchema.safeParse({ llm: { models, ...(fallback ? { fallback } : {}) } });
  const main = { name: 'main', model: MODEL, role: 'main', version: 'a' };

  it('says how to fix a canary of nothing, of a different role, with the same version, or listed as a fallback', () => {
    const messages = (result: ReturnType<typeof parse>) =>
      result.success ? [] : result.error.issues.map((i) => i.message);
    expect(
      messages(parse([main, { ...main, name: 'next', version: 'b', canary: { of: 'mian', share: 0.1 } }])),
    ).toEqual([expect.stringMatching(/"mian" is not in llm.models/)]);
    expect(
      messages(
        parse([
          main,
          { ...main, name: 'next', role: 'light', version: 'b', canary: { of: 'main', share: 0.1 } },
        ]),
      ),
    ).toEqual([expect.stringMatching(/give them the same role/)]);
    expect(messages(parse([main, { ...main, name: 'next', canary: { of: 'main', share: 0.1 } }]))).toEqual([
      expect.stringMatching(/give the canary its own version/),
    ]);
    expect(
      messages(
        parse([main, { ...main, name: 'next', version: 'b', canary: { of: 'main', share: 0.1 } }], ['next']),
      ),
    ).toEqual([expect.stringMatching(/a canary serves only its share/)]);
    expect(
      parse([main, { ...main, name: 'next', version: 'b', canary: { of: 'main', share: 1.5 } }]).success,
    ).toBe(false);
  });
});
