/**
 * `npm run bench:audit`: what the tamper-evident audit chain costs per bot turn. The same turns
 * (embedded dialog engine and knowledge, extractive answers, the real database) run through the
 * turn handler with the per-turn audit record and without it, in alternating slices of one run, so
 * a change in the machine's load hits both. Prints per-turn latency of each, the difference in µs
 * (the chain's cost), the ratio with/without, the cost of a bare chain append, and verifies the
 * chain at the end (exit 1 if it does not verify or a turn left no record).
 *
 * Options: --database postgres|pglite (default postgres: a fresh hub_bench_audit_<id> database,
 *          dropped at the end)  --turns 300 (per target per slice)  --rounds 4  --clients 1
 *          (conversations in flight at once)  --appends 1000 (bare appends measured)
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { MemoryFeed } from '../core/bus';
import { parseConfig } from '../core/config/load';
import { DialogEngine } from '../core/dialog/engine';
import { loadDialogKit } from '../core/dialog/setup';
import { createTurnHandler } from '../core/dialog/turn';
import { createKnowledge } from '../core/rag';
import { recordTurn, TURN_ACTION, type TurnAuditRecord } from '../core/security/audit';
import { MemoryStateStore } from '../core/state';
import { createStore, type KyselyStore } from '../core/store';
import type { DeliveryContext, EventHandler, InboundEvent } from '../core/types';
import { BENCH_MESSAGES, percentile } from './load';

const PG_ADMIN_URL = process.env.BENCH_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

const { values: args } = parseArgs({
  options: {
    database: { type: 'string', default: 'postgres' },
    turns: { type: 'string', default: '300' },
    rounds: { type: 'string', default: '4' },
    clients: { type: 'string', default: '1' },
    appends: { type: 'string', default: '1000' },
  },
});
const driver = args.database === 'pglite' ? 'pglite' : 'postgres';
const turnsPerSlice = Number(args.turns);
const rounds = Number(args.rounds);
const clients = Number(args.clients);
const appends = Number(args.appends);

const ctx: DeliveryContext = { attempt: 1, fencingToken: 1, signal: new AbortController().signal };
let sequence = 0;
function nextEvent(client: number): InboundEvent {
  const n = ++sequence;
  // A conversation per client, renewed every few turns: a bounded history, as real conversations have.
  const conversation = `bench-${client}-${Math.floor(n / 8)}`;
  return {
    id: `bench:${conversation}:${n}`,
    kind: 'message',
    ref: { channel: 'bench', tenant: 'default', conversation },
    sender: { id: conversation },
    receivedAt: new Date().toISOString(),
    text: BENCH_MESSAGES[n % BENCH_MESSAGES.length] ?? 'hello',
  };
}

/** Per-turn latencies (µs) of `turns` turns, `clients` at a time. */
async function slice(handle: EventHandler, turns: number): Promise<number[]> {
  const latencies: number[] = [];
  let left = turns;
  await Promise.all(
    Array.from({ length: clients }, async (_, client) => {
      while (left-- > 0) {
        const event = nextEvent(client);
        const started = process.hrtime.bigint();
        await handle(event, ctx);
        latencies.push(Number(process.hrtime.bigint() - started) / 1000);
      }
    }),
  );
  return latencies;
}

function summary(latencies: number[]) {
  const sorted = [...latencies].sort((a, b) => a - b);
  const mean = sorted.reduce((sum, x) => sum + x, 0) / sorted.length;
  return { n: sorted.length, mean, p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99) };
}

const fmt = (us: number) => us.toFixed(0).padStart(8);

async function main(): Promise<void> {
  const keyDir = mkdtempSync(join(tmpdir(), 'hub-bench-audit-'));
  const dbName = `hub_bench_audit_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${dbName}`;
  if (driver === 'postgres') {
    await admin.connect();
    await admin.query(`create database ${dbName}`);
  }
  const config = parseConfig(
    {
      database: driver === 'postgres' ? { driver, url: url.toString() } : { driver, dataDir: 'memory://' },
      audit: { keyFile: join(keyDir, 'audit.key') },
    },
    {},
  );
  let store: KyselyStore | undefined;
  try {
    const startLoad = loadavg();
    store = await createStore(config);
    const auditStore = store;
    const knowledge = await createKnowledge(config);
    const engine = new DialogEngine({
      config,
      retriever: knowledge.retriever,
      dialog: await loadDialogKit(config),
    });
    const states = new MemoryStateStore({ ttlMs: 600_000 });
    const feed = new MemoryFeed('bench-audit');
    const plain = createTurnHandler({ engine, states, store, feed });
    let audited = 0;
    // Time spent inside the append during turns: tells the append's own cost from its knock-on effects.
    const insideTurns: number[] = [];
    const withAudit = createTurnHandler({
      engine,
      states,
      store,
      feed,
      audit: async (record: TurnAuditRecord) => {
        const started = process.hrtime.bigint();
        const result = await recordTurn(auditStore, record);
        insideTurns.push(Number(process.hrtime.bigint() - started) / 1000);
        if (result.appended) audited += 1;
      },
    });

    console.log(
      `audit chain bench: ${driver}, ${cpus().length} CPUs, load ${startLoad.map((l) => l.toFixed(2)).join(' ')}; ${rounds} rounds × ${turnsPerSlice} turns per target, ${clients} client(s), alternating`,
    );
    // Warm-up: JIT, pools, the knowledge index, the database's caches.
    await slice(plain, 100);
    await slice(withAudit, 100);
    audited = 0;
    insideTurns.length = 0;

    const without: number[] = [];
    const withChain: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? ([plain, withAudit] as const) : ([withAudit, plain] as const);
      for (const handle of order) {
        const latencies = await slice(handle, turnsPerSlice);
        (handle === plain ? without : withChain).push(...latencies);
      }
    }

    // A bare append of a turn-sized record: the chain's own cost without the rest of a turn.
    const appendLatencies: number[] = [];
    for (let i = 0; i < appends; i++) {
      const started = process.hrtime.bigint();
      await recordTurn(auditStore, {
        eventId: `bench:append:${i}`,
        conversationKey: 'bench:default:append',
        channel: 'bench',
        tenant: 'default',
        intent: { name: 'shipping_time', confidence: 0.93, tier: 'classifier' },
        decision: 'answer',
        retrieved: Array.from({ length: 5 }, (_, k) => ({ id: `en-shipping#${k}`, score: 0.9 - k / 10 })),
        actions: ['answer'],
        citations: ['en-shipping#0'],
        source: 'extractive',
        replies: [`bench:append:${i}#0`],
        latencyMs: 3,
        outcome: 'answered',
      });
      appendLatencies.push(Number(process.hrtime.bigint() - started) / 1000);
    }

    const a = summary(without);
    const b = summary(withChain);
    const append = summary(appendLatencies);
    const inside = summary(insideTurns);
    console.log('\n                        turns   mean µs    p50 µs    p99 µs');
    console.log(
      `turn without audit   ${String(a.n).padStart(7)}  ${fmt(a.mean)}  ${fmt(a.p50)}  ${fmt(a.p99)}`,
    );
    console.log(
      `turn with audit      ${String(b.n).padStart(7)}  ${fmt(b.mean)}  ${fmt(b.p50)}  ${fmt(b.p99)}`,
    );
    console.log(
      `append within turns  ${String(inside.n).padStart(7)}  ${fmt(inside.mean)}  ${fmt(inside.p50)}  ${fmt(inside.p99)}`,
    );
    console.log(
      `bare chain append    ${String(append.n).padStart(7)}  ${fmt(append.mean)}  ${fmt(append.p50)}  ${fmt(append.p99)}`,
    );
    console.log(
      `\naudit chain cost per turn: ${(b.mean - a.mean).toFixed(0)} µs mean, ${(b.p50 - a.p50).toFixed(0)} µs p50; ratio with/without: ${(b.mean / a.mean).toFixed(3)} (mean), ${(b.p50 / a.p50).toFixed(3)} (p50)`,
    );

    const verified = await store.auditLog.verify();
    const records = await store.db
      .selectFrom('audit_log')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('action', '=', TURN_ACTION)
      .executeTakeFirstOrThrow();
    const expected = b.n + 100 + appends;
    console.log(
      `chain: ${verified.ok ? 'verified' : `BROKEN: ${verified.fault?.message}`}, ${verified.checked} records; turn records ${records.n} (expected ${expected}); load at end ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
    );
    if (!verified.ok || Number(records.n) !== expected || audited !== b.n) process.exitCode = 1;
    await knowledge.close();
    await states.close();
  } finally {
    await store?.close();
    if (driver === 'postgres') {
      await admin.query(`drop database if exists ${dbName} with (force)`);
      await admin.end();
    }
    rmSync(keyDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
