import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hubConfigSchema } from '../../core/config/schema';
import { recordOperatorAction, turnAuditEntry } from '../../core/security/audit';
import { createStore, type KyselyStore } from '../../core/store/index';
import type { InboundEvent } from '../../core/types';
import { scratchDatabase } from '../support/postgres';
import { writeConfig } from './hub-process';

/** `hub audit verify | export | purge` and `hub dlq --replay` as an operator runs them, on real PostgreSQL. */
const database = scratchDatabase('hub_audit_cli');
const run = promisify(execFile);
const HUB = join(import.meta.dirname, '..', '..', 'bin', 'hub.mjs');

let store: KyselyStore;
let keyDir: string;
let configFile: string;

async function hub(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [HUB, ...args, '--config', configFile], {
      env: { ...process.env, LOG_LEVEL: 'warn', HUB_AUDIT_KEY: '' },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

beforeAll(async () => {
  await database.create();
  keyDir = await mkdtemp(join(tmpdir(), 'hub-audit-cli-'));
  const config = {
    database: { driver: 'postgres', url: database.url },
    audit: { keyFile: join(keyDir, 'audit.key') },
  };
  configFile = writeConfig(config);
  store = await createStore(hubConfigSchema.parse(config));
});

afterAll(async () => {
  await store?.close();
  await database.drop();
  await rm(keyDir, { recursive: true, force: true });
});

describe('hub audit', { timeout: 180_000 }, () => {
  it('verifies, records a DLQ replay, purges behind a checkpoint, exports, and exits 1 on an edit', async () => {
    const old = new Date(Date.now() - 40 * 86_400_000).toISOString();
    await store.audit({ actor: 'bot', action: 'bot.turn', subject: 'c-old', at: old });
    await store.audit({ actor: 'bot', action: 'bot.turn', subject: 'c-old', at: old });
    for (const action of ['ticket.take', 'ticket.reply', 'ticket.solve'] as const) {
      await recordOperatorAction(store, { actor: 'admin-token', action, subject: 'ticket:demo:7' });
    }

    const verified = await hub('audit', 'verify');
    expect(verified).toMatchObject({ code: 0 });
    expect(verified.stdout).toMatch(/audit chain ok: 5 record\(s\)/);

    expect((await hub('dlq', '--replay')).code).toBe(0);
    const [replay] = await store.auditTrail({ subject: 'dlq' });
    expect(replay).toMatchObject({ actor: 'cli', action: 'operator.dlq.replay', details: { replayed: 0 } });

    const purged = await hub('audit', 'purge', '--days', '30');
    expect(purged.stdout).toMatch(/purged 2 record\(s\).*after record 2/);
    expect((await hub('audit', 'verify')).stdout).toMatch(
      /audit chain ok: 5 record\(s\) verified from record 3/,
    );

    const exported = await hub('audit', 'export', '--since', new Date(Date.now() - 86_400_000).toISOString());
    const lines = exported.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines.map((r) => [r.seq, r.action])).toEqual([
      [3, 'operator.ticket.take'],
      [4, 'operator.ticket.reply'],
      [5, 'operator.ticket.solve'],
      [6, 'operator.dlq.replay'],
      [7, 'operator.audit.purge'],
    ]);
    expect(lines[1].prevHash).toBe(lines[0].hash);

    await sql`update audit_log set subject = 'ticket:demo:8' where seq = 4`.execute(store.db);
    const broken = await hub('audit', 'verify');
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(/audit chain broken at record 4 \(edited\)/);
    await sql`update audit_log set subject = 'ticket:demo:7' where seq = 4`.execute(store.db);
  });

  it('chains a turn record still pending, then verifies; a pending row forged without the key fails', async () => {
    const event: InboundEvent = {
      id: 'cli:pending:1',
      kind: 'message',
      ref: { channel: 'test', tenant: 'default', conversation: 'pending' },
      sender: { id: 'customer-pending' },
      receivedAt: new Date().toISOString(),
      text: 'hello',
    };
    const audit = turnAuditEntry({
      eventId: event.id,
      conversationKey: 'test:default:pending',
      channel: 'test',
      tenant: 'default',
      retrieved: [],
      actions: [],
      citations: [],
      replies: [],
      latencyMs: 3,
      outcome: 'silent',
    });
    await store.recordTurn({ event, replies: [], audit });
    const pending = () => store.db.selectFrom('audit_log').select('id').where('seq', 'is', null).execute();
    expect(await pending()).toHaveLength(1);
    const verified = await hub('audit', 'verify');
    expect(verified).toMatchObject({ code: 0 });
    expect(verified.stdout).toMatch(/audit chain ok: 6 record\(s\) verified from record 3/);
    expect(await pending()).toHaveLength(0);

    await sql`insert into audit_log (at, actor, action, details, dedupe_key, pending_mac)
      values (now(), 'bot', 'bot.turn', '{}'::jsonb, 'turn:forged', ${'f'.repeat(64)})`.execute(store.db);
    const forged = await hub('audit', 'verify');
    expect(forged.code).toBe(1);
    expect(forged.stderr).toMatch(/\(forged\): pending row id \d+ does not match its MAC/);
  });
});
