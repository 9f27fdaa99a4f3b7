import { type Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Connector } from '../../core/channels/types';
import { hubConfigSchema } from '../../core/config/schema';
import { buildServer } from '../../core/http/server';
import { isOutage } from '../../core/resilience/outage';
import { openDatabase, poolSizeOf } from '../../core/store/connect';
import type { Database } from '../../core/store/schema';
import { scratchDatabase } from '../support/postgres';

describe('database.poolSize', () => {
  it('defaults to one connection per concurrent turn plus the HTTP side; 10 for an api-only process', () => {
    const config = hubConfigSchema.parse({ bus: { concurrency: 200 } });
    expect(poolSizeOf(config.database, { concurrency: config.bus.concurrency, role: 'all' })).toBe(30);
    expect(poolSizeOf(config.database, { concurrency: 200, role: 'worker' })).toBe(30);
    expect(poolSizeOf(config.database, { concurrency: 16, role: 'worker' })).toBe(26);
    expect(poolSizeOf(config.database, { concurrency: 200, role: 'api' })).toBe(10);
    expect(poolSizeOf({ poolSize: 40 }, { concurrency: 200, role: 'all' })).toBe(40);
    expect(hubConfigSchema.parse({}).database.poolTimeoutMs).toBe(5_000);
    expect(() => hubConfigSchema.parse({ database: { poolSize: 0 } })).toThrow();
  });
});

describe('a saturated PostgreSQL pool', () => {
  const database = scratchDatabase('hub_pool');
  let db: Kysely<Database>;
  const held: Array<() => void> = [];
  let holding: Array<Promise<unknown>> = [];

  beforeAll(async () => {
    await database.create();
    db = await openDatabase({
      driver: 'postgres',
      url: database.url,
      dataDir: 'unused',
      poolSize: 2,
      poolTimeoutMs: 300,
    });
    // Both connections checked out until the test lets them go.
    holding = [1, 2].map(() =>
      db.connection().execute(async (connection) => {
        await sql`select 1`.execute(connection);
        await new Promise<void>((release) => held.push(release));
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
  });
  afterAll(async () => {
    for (const release of held) release();
    await Promise.all(holding);
    await db.destroy();
    await database.drop();
  });

  it('opens no more than poolSize connections; a query waits poolTimeoutMs, then fails as an outage', async () => {
    const started = Date.now();
    const error = await sql`select 1`.execute(db).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(isOutage(error)).toBe(true);
    const counter = await openDatabase({
      driver: 'postgres',
      url: database.url,
      dataDir: 'unused',
      poolSize: 1,
    });
    const { rows } = await sql<{ n: number }>`
      select count(*)::int as n from pg_stat_activity where datname = ${database.name}`
      .execute(counter)
      .finally(() => counter.destroy());
    // The two held plus the one that just counted them.
    expect(rows[0]?.n).toBe(3);
  });

  it('a request that meets the timeout gets 503 with Retry-After, never 500', async () => {
    const connector: Connector = {
      id: 'probe',
      type: 'probe',
      async register(app) {
        app.get('/webhooks/probe', async () => (await sql`select 1 as one`.execute(db)).rows);
      },
      async close() {},
    };
    const app = await buildServer({
      config: hubConfigSchema.parse({}),
      connectors: [connector],
      readiness: [],
    });
    try {
      const response = await app.inject('/webhooks/probe');
      expect(response.statusCode).toBe(503);
      expect(response.headers['retry-after']).toBe('1');
      expect(response.json().error.code).toBe('dependency.unavailable');
    } finally {
      await app.close();
    }
  });
});
