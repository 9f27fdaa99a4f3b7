import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shareDataKeys } from '../support/data-keys';
import { scratchDatabase } from '../support/postgres';
import {
  REDIS_CLUSTER_SKIP_REASON,
  redisClusterAvailable,
  startRedisCluster,
  type TestCluster,
} from '../support/redis-cluster';
import { type HubProcess, SAMPLE_QUESTIONS, startHubProcess, writeConfig } from './hub-process';

/**
 * The whole hub on a Redis Cluster: an api and a worker process with `redis.cluster` (bus, reply
 * feed, state, locks, rate limits, heartbeats, channel storage all on the cluster) answer every
 * message once and in order, and report the backlog and the live worker from the cluster.
 */
const dataKeys = shareDataKeys();
const database = scratchDatabase('hub_e2e_cluster');
const CONVERSATIONS = 3;
const MESSAGES_EACH = 3;

let cluster: TestCluster | undefined;
let api: HubProcess | undefined;
let worker: HubProcess | undefined;
let db: pg.Client | undefined;

async function until(what: string, predicate: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return Number(line?.[1] ?? Number.NaN);
}

describe.skipIf(redisClusterAvailable)('the hub on a Redis Cluster', () => {
  it.skip(REDIS_CLUSTER_SKIP_REASON, () => {});
});

describe.runIf(redisClusterAvailable)('the hub on a Redis Cluster', () => {
  beforeAll(async () => {
    cluster = await startRedisCluster();
    await database.create();
    db = new pg.Client({ connectionString: database.url });
    await db.connect();
  }, 90_000);

  afterAll(async () => {
    await api?.stop();
    await worker?.stop('SIGKILL');
    await db?.end();
    await database.drop();
    await cluster?.stop();
  });

  it('answers every message once and in order with an api and a worker process on the cluster', async () => {
    const config = writeConfig({
      server: { replyTimeoutMs: 50 },
      redis: { keyPrefix: 'hub-e2e-cluster', cluster: { nodes: cluster?.nodes, shards: 8 } },
      bus: { driver: 'bullmq', queue: 'e2e-cluster', backoffMs: 100, concurrency: 4, heartbeatMs: 500 },
      state: { driver: 'redis' },
      database: { driver: 'postgres', url: database.url },
    });
    [api, worker] = await Promise.all([
      startHubProcess(config, ['--role', 'api']),
      startHubProcess(config, ['--role', 'worker']),
    ]);
    const apiUrl = api.url;
    await until(
      'the worker seen alive from the api',
      async () => (await metric(apiUrl, 'hub_workers_alive')) === 1,
    );

    const sent: string[][] = Array.from({ length: CONVERSATIONS }, () => []);
    for (let index = 0; index < MESSAGES_EACH; index++) {
      await Promise.all(
        Array.from({ length: CONVERSATIONS }, async (_, c) => {
          const sender = `customer-${c}`;
          const response = await fetch(`${apiUrl}/webhooks/rest`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({
              sender,
              message: SAMPLE_QUESTIONS[(c + index) % SAMPLE_QUESTIONS.length],
              message_id: `m${index}`,
            }),
          });
          expect([200, 202]).toContain(response.status);
          sent[c]?.push(`rest:${sender}:m${index}`);
        }),
      );
    }
    const total = CONVERSATIONS * MESSAGES_EACH;
    const answers = async () =>
      (
        await (db as pg.Client).query<{ conversation_key: string; in_reply_to: string }>(
          `select conversation_key, in_reply_to from messages where direction = 'out' order by seq`,
        )
      ).rows;
    await until('every message answered', async () => (await answers()).length >= total);
    await until('the backlog to drain', async () => (await metric(apiUrl, 'hub_bus_backlog')) === 0);

    const rows = await answers();
    expect(rows).toHaveLength(total);
    expect(new Set(rows.map((row) => row.in_reply_to)).size).toBe(total);
    for (let c = 0; c < CONVERSATIONS; c++) {
      const key = dataKeys.conversation(`rest:default:customer-${c}`);
      expect(rows.filter((row) => row.conversation_key === key).map((row) => row.in_reply_to)).toEqual(
        sent[c],
      );
    }
    // The bus's keys spread over the masters: more than one holds some.
    const holders = await Promise.all(
      (cluster as TestCluster).client
        .nodes('master')
        .map(async (node) => (await node.keys('*hub-e2e-cluster:bus:*')).length),
    );
    expect(holders.filter((count) => count > 0).length).toBeGreaterThan(1);
  }, 180_000);
});
