import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningHub, startHub } from '../../app/hub';
import { hubConfigSchema } from '../../core/config/schema';
import { createStore, type KyselyStore } from '../../core/store';
import type { ConversationRef } from '../../core/types/conversation';
import { scratchDatabase } from '../support/postgres';
import { writeConfig } from './hub-process';

/**
 * Erasure and the scheduled purge as a running hub and an operator see them: the admin route
 * (admin role, every tenant), the scheduler's own purge record, and the two CLI commands.
 */

const ADMIN = 'erase-admin-machine-token-0000000001';
const SCOPED = 'erase-scoped-admin-token-0000000001';
const SUPERVISOR = 'erase-supervisor-token-00000000001';
const DAY_MS = 86_400_000;

async function seed(store: KyselyStore, userId: string, daysAgo: number, text: string): Promise<string> {
  const ref: ConversationRef = { channel: 'webchat', tenant: 'default', conversation: `dm-${userId}` };
  const customerId = await store.upsertCustomer({ channel: 'webchat', tenant: 'default', userId });
  await store.recordInbound(
    {
      id: `evt-${randomUUID()}`,
      kind: 'message',
      ref,
      sender: { id: userId },
      receivedAt: new Date(Date.now() - daysAgo * DAY_MS).toISOString(),
      text,
    },
    customerId,
  );
  return customerId;
}

describe('the erase route and the scheduled purge in a started hub', { timeout: 120_000 }, () => {
  let hub: RunningHub;
  let app: FastifyInstance;
  let store: KyselyStore;

  beforeAll(async () => {
    hub = await startHub(
      hubConfigSchema.parse({
        server: { port: 0 },
        database: { driver: 'pglite', dataDir: 'memory://' },
        retention: { transcriptsDays: 30, purgeIntervalMinutes: 1 },
        security: {
          rateLimits: { enabled: false },
          tokens: [
            { name: 'dpo', role: 'admin', token: ADMIN },
            { name: 'shop-admin', role: 'admin', token: SCOPED, tenants: ['default'] },
            { name: 'lead', role: 'supervisor', token: SUPERVISOR },
          ],
        },
      }),
    );
    app = hub.app as FastifyInstance;
    store = hub.store as KyselyStore;
  });
  afterAll(async () => {
    await hub?.stop();
  });

  const erase = (id: string, token: string) =>
    app.inject({
      method: 'DELETE',
      url: `/admin/customers/${encodeURIComponent(id)}`,
      headers: { authorization: `Bearer ${token}` },
    });

  it('erases for an admin scoped to every tenant, on record with that admin; refuses the others', async () => {
    const customerId = await seed(store, 'route-user', 1, 'ROUTE-SECRET');
    expect((await erase('webchat:route-user', SUPERVISOR)).statusCode).toBe(403);
    const scoped = await erase('webchat:route-user', SCOPED);
    expect(scoped.statusCode).toBe(403);
    expect(scoped.json().error.code).toBe('customers.scope');
    expect((await erase('not a customer', ADMIN)).statusCode).toBe(400);

    const done = await erase('webchat:route-user', ADMIN);
    expect(done.statusCode, done.body).toBe(200);
    expect(done.json()).toMatchObject({ customerIds: [customerId], counts: { messages: 1, identities: 1 } });
    const [record] = await store.auditTrail({ subject: `customer:${customerId}` });
    expect(record).toMatchObject({ actor: 'token:dpo', action: 'operator.customer.erase' });

    const again = await erase('webchat:route-user', ADMIN);
    expect(again.json()).toMatchObject({ customerIds: [], counts: { messages: 0 } });
  });

  it('the worker purges on its schedule and puts the run on record as the scheduler', async () => {
    await seed(store, 'old-user', 45, 'OLD');
    await expect
      .poll(async () => (await store.auditTrail({ subject: 'retention' }))[0], {
        timeout: 30_000,
        interval: 500,
      })
      .toMatchObject({ actor: 'scheduler', action: 'operator.retention.purge' });
    const [run] = await store.auditTrail({ subject: 'retention' });
    // The identity was seen just now (the seed's upsert): it stays until it is idle past the window too.
    expect(run?.details).toMatchObject({ total: { messages: 1, conversations: 1, identities: 0 } });
  });
});

describe('hub retention purge and hub customer erase', { timeout: 180_000 }, () => {
  const database = scratchDatabase('hub_retention_cli');
  const runFile = promisify(execFile);
  const HUB = join(import.meta.dirname, '..', '..', 'bin', 'hub.mjs');
  let store: KyselyStore;
  let configFile: string;

  async function hub(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    try {
      const { stdout, stderr } = await runFile(process.execPath, [HUB, ...args, '--config', configFile], {
        env: {
          ...process.env,
          LOG_LEVEL: 'warn',
          HUB_AUDIT_KEY: 'retention-cli-test-audit-key-000000000001',
        },
      });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const failed = error as { code: number; stdout: string; stderr: string };
      return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
    }
  }

  beforeAll(async () => {
    await database.create();
    const config = {
      database: { driver: 'postgres', url: database.url },
      retention: { transcriptsDays: 30 },
    };
    configFile = writeConfig(config);
    process.env.HUB_AUDIT_KEY = 'retention-cli-test-audit-key-000000000001';
    store = await createStore(hubConfigSchema.parse(config));
  });
  afterAll(async () => {
    await store?.close();
    delete process.env.HUB_AUDIT_KEY;
    await database.drop();
  });

  it('purges (dry run first), erases by channel identity, and says when nothing is left', async () => {
    await seed(store, 'cli-old', 40, 'CLI-OLD');
    const customerId = await seed(store, 'cli-user', 1, 'CLI-SECRET');

    const dry = await hub('retention', 'purge', '--dry-run');
    expect(dry.stdout).toMatch(/would purge default: .*messages=1/);
    const purged = await hub('retention', 'purge');
    expect(purged.stdout).toMatch(/purged default: .*messages=1/);
    expect((await hub('retention', 'purge')).stdout).toMatch(/nothing to purge/);

    const erased = await hub('customer', 'erase', 'webchat:cli-user');
    expect(erased.code, erased.stderr).toBe(0);
    expect(erased.stdout).toContain(`erased customer ${customerId}`);
    expect(erased.stdout).toMatch(/not reached from here: helpdesks outside the hub, database backups/);
    expect((await hub('customer', 'erase', 'webchat:cli-user')).stdout).toMatch(/nothing to erase/);
    expect((await hub('customer', 'erase', 'nonsense')).code).toBe(1);

    const [record] = await store.auditTrail({ subject: `customer:${customerId}` });
    expect(record).toMatchObject({ actor: 'cli', details: { user: expect.any(String) } });
    expect((await hub('audit', 'verify')).stdout).toMatch(/audit chain ok/);
  });
});
