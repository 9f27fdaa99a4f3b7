import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HubProcess, startHubProcess, writeConfig } from './hub-process';

/** Two hub instances on one Redis (state on Redis, so limits live there too) count one limit. */
const PREFIX = `hub-test-shared-limits-${process.pid}-${Date.now()}`;
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const hubs: HubProcess[] = [];

beforeAll(async () => {
  const config = writeConfig({
    redis: { url: REDIS_URL, keyPrefix: PREFIX },
    state: { driver: 'redis' },
    database: { driver: 'pglite', dataDir: 'memory://' },
    security: { rateLimits: { rest: { perSender: { max: 10, windowSeconds: 60 } } } },
  });
  hubs.push(...(await Promise.all([startHubProcess(config), startHubProcess(config)])));
});

afterAll(async () => {
  for (const hub of hubs) expect(await hub.stop()).toBe(0);
  const redis = new Redis(REDIS_URL);
  const keys = await redis.keys(`${PREFIX}*`);
  if (keys.length) await redis.del(...keys);
  await redis.quit();
});

describe('limits shared through Redis', () => {
  it('one sender over two instances gets the limit once, not once per instance', async () => {
    const answers = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        fetch(`${hubs[i % 2]?.url}/webhooks/rest`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ sender: 'roaming', message: 'How long does shipping take?' }),
        }).then((response) => ({ status: response.status, retryAfter: response.headers.get('retry-after') })),
      ),
    );
    const limited = answers.filter((a) => a.status === 429);
    console.log(
      'Shared limit',
      JSON.stringify({ requests: answers.length, status429: limited.length, instances: hubs.length }),
    );
    expect(answers.length - limited.length).toBe(10);
    expect(limited.every((a) => Number(a.retryAfter) > 0)).toBe(true);
    const redis = new Redis(REDIS_URL);
    expect(await redis.keys(`${PREFIX}:ratelimit:rest.sender:*`)).toHaveLength(1);
    await redis.quit();
  }, 30_000);
});
