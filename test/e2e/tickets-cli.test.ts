import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hubConfigSchema } from '../../core/config/schema';
import { createStore, type KyselyStore } from '../../core/store/index';
import { TicketOutbox } from '../../core/tickets/outbox';
import { scratchDatabase } from '../support/postgres';
import { draft } from '../support/ticket-draft';
import { writeConfig } from './hub-process';

/** `hub tickets dlq [--replay]` as an operator runs it, against a real PostgreSQL database. */
const database = scratchDatabase('hub_dlq');
const run = promisify(execFile);
const HUB = join(import.meta.dirname, '..', '..', 'bin', 'hub.mjs');

let store: KyselyStore;
const configFile = writeConfig({ database: { driver: 'postgres', url: database.url } });
const hub = async (...args: string[]) =>
  (
    await run(process.execPath, [HUB, 'tickets', ...args, '--config', configFile], {
      env: { ...process.env, LOG_LEVEL: 'warn' },
    })
  ).stdout;

beforeAll(async () => {
  await database.create();
  store = await createStore(hubConfigSchema.parse({ database: { driver: 'postgres', url: database.url } }));
});

afterAll(async () => {
  await store?.close();
  await database.drop();
});

describe('hub tickets dlq', { timeout: 180_000 }, () => {
  it('lists dead tickets and replays them', async () => {
    const outbox = new TicketOutbox(store.db);
    const { request } = await outbox.enqueue({
      dedupeKey: 'k',
      conversationKey: 'c',
      tenant: 'default',
      adapter: 'zendesk',
      draft: draft(),
    });
    await outbox.enqueue({
      dedupeKey: 'k2',
      conversationKey: 'c',
      tenant: 'default',
      adapter: 'demo',
      draft: draft(),
    });
    const [claimed] = await outbox.claim(1, 1000);
    if (!claimed) throw new Error('nothing claimed');
    await outbox.markFailed(claimed, 'Zendesk answered 401. Fix: check the Zendesk credentials', {
      dead: true,
    });

    const listed = await hub('dlq');
    expect(listed).toContain(request.id);
    expect(listed).toContain('attempts=1');
    expect(listed).toContain('Zendesk answered 401');
    expect(await hub('pending')).toContain('1 ticket(s) pending');

    expect(await hub('dlq', '--replay', request.id)).toContain('replayed 1 ticket(s)');
    expect(await hub('dlq')).toContain('no dead tickets');
    expect(await outbox.pending()).toBe(2);
  });
});
