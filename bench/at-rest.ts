/**
 * `npm run bench:at-rest`: what encryption at rest costs per bot turn. The same turns (embedded
 * dialog engine and knowledge, extractive answers, a real database, the per-turn audit record) run
 * through the turn handler on two stores of the same driver: one sealing (core/privacy/at-rest.ts)
 * and one with a pass-through sealer that writes everything in clear, the plaintext baseline, in
 * alternating slices of one run so that a change in the machine's load hits both.
 *
 * Prints, per turn: the time spent inside the sealer during the sealed turns (seal, open, keyed
 * hashes: encryption and decryption on the turn's path), the same for the dialog state the Redis
 * state store would seal and open once per turn, and the whole turn's latency of each store with
 * the difference and the ratio. The in-sealer figure is the precise one: the turn-latency
 * difference is within the noise of a turn that takes milliseconds.
 *
 * Options: --database pglite|postgres (default pglite in memory; postgres: a fresh
 *          hub_bench_at_rest_<id> database each, dropped at the end)  --turns 150 (per store per
 *          slice)  --rounds 4
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
import { AtRest } from '../core/privacy/at-rest';
import { createKnowledge } from '../core/rag';
import { recordTurn } from '../core/security/audit';
import { MemoryStateStore } from '../core/state';
import { createStore, KyselyStore } from '../core/store';
import type { DeliveryContext, EventHandler, InboundEvent } from '../core/types';
import { conversationKey } from '../core/types/conversation';
import { BENCH_MESSAGES, percentile } from './load';

const PG_ADMIN_URL = process.env.BENCH_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

const { values: args } = parseArgs({
  options: {
    database: { type: 'string', default: 'pglite' },
    turns: { type: 'string', default: '150' },
    rounds: { type: 'string', default: '4' },
  },
});
const driver = args.database === 'postgres' ? 'postgres' : 'pglite';
const turnsPerSlice = Number(args.turns);
const rounds = Number(args.rounds);

/** Writes everything in clear: the same store code, no cryptography. */
class PlaintextSealer extends AtRest {
  override seal(plaintext: string): string {
    return plaintext;
  }
  override sealJson(json: string): string {
    return json;
  }
  override lookup(_purpose: string, value: string): string {
    return value;
  }
}

/** Time spent inside the sealer's public calls (outermost only: sealJson calls seal). */
function instrument(atRest: AtRest): { spentUs: () => number; calls: () => number; reset: () => void } {
  let spent = 0n;
  let depth = 0;
  let calls = 0;
  const target = atRest as unknown as Record<string, (...args: unknown[]) => unknown>;
  for (const name of ['seal', 'sealOrNull', 'open', 'openOrNull', 'sealJson', 'openJson', 'lookup']) {
    const original = target[name]?.bind(atRest);
    if (!original) continue;
    target[name] = (...callArgs: unknown[]) => {
      const started = depth === 0 ? process.hrtime.bigint() : 0n;
      if (depth === 0) calls++;
      depth++;
      try {
        return original(...callArgs);
      } finally {
        depth--;
        if (depth === 0) spent += process.hrtime.bigint() - started;
      }
    };
  }
  return {
    spentUs: () => Number(spent) / 1000,
    calls: () => calls,
    reset: () => {
      spent = 0n;
      calls = 0;
    },
  };
}

const ctx: DeliveryContext = { attempt: 1, fencingToken: 1, signal: new AbortController().signal };
let sequence = 0;
function nextEvent(): InboundEvent {
  const n = ++sequence;
  // A conversation renewed every eight turns: a bounded history, as real conversations have.
  const conversation = `+86139${String(Math.floor(n / 8)).padStart(8, '0')}`;
  return {
    id: `wamid.bench-${n}`,
    kind: 'message',
    ref: { channel: 'whatsapp', tenant: 'default', conversation },
    sender: { id: conversation, name: 'Bench Customer' },
    receivedAt: new Date().toISOString(),
    text: BENCH_MESSAGES[n % BENCH_MESSAGES.length] ?? 'hello',
  };
}

function summary(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  const mean = sorted.reduce((sum, x) => sum + x, 0) / sorted.length;
  return { n: sorted.length, mean, p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99) };
}

const fmt = (us: number) => us.toFixed(1).padStart(9);

async function main(): Promise<void> {
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  const databases: string[] = [];
  const databaseConfig = async () => {
    if (driver === 'pglite') return { driver, dataDir: 'memory://' } as const;
    if (databases.length === 0) await admin.connect();
    const name = `hub_bench_at_rest_${randomBytes(4).toString('hex')}`;
    await admin.query(`create database ${name}`);
    databases.push(name);
    const url = new URL(PG_ADMIN_URL);
    url.pathname = `/${name}`;
    return { driver, url: url.toString() } as const;
  };
  // HUB_DATA_KEYS when set; else random keys (in-memory database) or a key file in a temporary folder.
  const keyDir = mkdtempSync(join(tmpdir(), 'hub-bench-at-rest-'));
  const inMemoryKeys = {
    privacy: { atRest: { keyFile: join(keyDir, 'data-keys.json') } },
    audit: { keyFile: join(keyDir, 'audit.key') },
  };
  const sealedConfig = parseConfig({ database: await databaseConfig(), ...inMemoryKeys }, {});
  const plainConfig = parseConfig({ database: await databaseConfig(), ...inMemoryKeys }, {});
  const stores: KyselyStore[] = [];
  try {
    const startLoad = loadavg();
    const sealed = await createStore(sealedConfig);
    stores.push(sealed);
    const opened = await createStore(plainConfig);
    stores.push(opened);
    const plain = new KyselyStore(
      opened.db,
      opened.driver,
      randomBytes(32),
      new PlaintextSealer(opened.atRest.keys),
    );
    const knowledge = await createKnowledge(sealedConfig);
    const engine = new DialogEngine({
      config: sealedConfig,
      retriever: knowledge.retriever,
      dialog: await loadDialogKit(sealedConfig),
    });
    const meter = instrument(sealed.atRest);
    const sealedStates = new MemoryStateStore({ ttlMs: 600_000 });
    const handler = (store: KyselyStore, states: MemoryStateStore): EventHandler =>
      createTurnHandler({
        engine,
        states,
        store,
        feed: new MemoryFeed(`bench-at-rest-${stores.indexOf(store)}`),
        audit: (record) => recordTurn(store, record),
      });
    const sealedTurn = handler(sealed, sealedStates);
    const plainTurn = handler(plain, new MemoryStateStore({ ttlMs: 600_000 }));

    const turnLatency = { sealed: [] as number[], plain: [] as number[] };
    const inSealer: number[] = [];
    const callsPerTurn: number[] = [];
    const stateCost: number[] = [];
    const stateSealer = new AtRest(sealed.atRest.keys);
    const run = async (which: 'sealed' | 'plain', turns: number, record: boolean) => {
      for (let i = 0; i < turns; i++) {
        const event = nextEvent();
        meter.reset();
        const started = process.hrtime.bigint();
        await (which === 'sealed' ? sealedTurn : plainTurn)(event, ctx);
        const elapsed = Number(process.hrtime.bigint() - started) / 1000;
        if (!record) continue;
        turnLatency[which].push(elapsed);
        if (which !== 'sealed') continue;
        inSealer.push(meter.spentUs());
        callsPerTurn.push(meter.calls());
        // What the Redis state store adds per turn: one open on load, one seal on save.
        const key = conversationKey(event.ref);
        const state = await sealedStates.load(key);
        const where = { table: 'redis', column: 'state', row: key };
        const t0 = process.hrtime.bigint();
        stateSealer.open(stateSealer.seal(JSON.stringify(state), where), where);
        stateCost.push(Number(process.hrtime.bigint() - t0) / 1000);
      }
    };

    console.log(
      `encryption at rest bench: ${driver}, ${cpus().length} CPUs, load ${startLoad.map((l) => l.toFixed(2)).join(' ')}; ${rounds} rounds × ${turnsPerSlice} turns per store, alternating`,
    );
    await run('plain', 60, false);
    await run('sealed', 60, false);
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? (['plain', 'sealed'] as const) : (['sealed', 'plain'] as const);
      for (const which of order) await run(which, turnsPerSlice, true);
    }

    const a = summary(turnLatency.plain);
    const b = summary(turnLatency.sealed);
    const crypto = summary(inSealer);
    const state = summary(stateCost);
    console.log('\n                                   turns     mean µs      p50 µs      p99 µs');
    const line = (label: string, s: ReturnType<typeof summary>) =>
      console.log(
        `${label.padEnd(33)}${String(s.n).padStart(7)}  ${fmt(s.mean)}  ${fmt(s.p50)}  ${fmt(s.p99)}`,
      );
    line('turn, plaintext baseline', a);
    line('turn, sealed', b);
    line('inside the sealer, per turn', crypto);
    line('dialog state seal+open, per turn', state);
    const perTurn = crypto.mean + state.mean;
    console.log(
      `sealer calls per turn: ${summary(callsPerTurn).mean.toFixed(1)} mean (seal, open, keyed hash; a transcript read opens each entry)`,
    );
    // Each operation alone, on a quiet CPU path: what one call costs without the turn around it.
    const micro = new AtRest(sealed.atRest.keys);
    const where = { table: 'messages', column: 'text', row: 'wamid.bench' };
    const text = 'How long does standard shipping take to Shanghai? My order is AB12345678.';
    const sealedText = micro.seal(text, where);
    const each = (label: string, op: () => unknown, n = 20_000) => {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < n; i++) op();
      console.log(
        `  ${label.padEnd(44)}${(Number(process.hrtime.bigint() - t0) / 1000 / n).toFixed(2).padStart(8)} µs`,
      );
    };
    console.log('one operation, 20000 times:');
    each('seal (new data key, wrap, encrypt) 75 chars', () => micro.seal(text, where));
    each('open, data key cached (re-read)', () => micro.open(sealedText, where));
    each(
      'open, data key not cached (first read)',
      () => new AtRest(sealed.atRest.keys).open(sealedText, where),
      5_000,
    );
    each('keyed hash (lookup column)', () => micro.lookup('conversation', 'whatsapp:default:+8613900000001'));
    console.log(
      `\nencryption+decryption cost per turn: ${perTurn.toFixed(1)} µs mean (${crypto.mean.toFixed(1)} store + ${state.mean.toFixed(1)} state), ${((perTurn / a.mean) * 100).toFixed(2)}% of a plaintext turn`,
    );
    console.log(
      `turn latency sealed/plaintext: ${(b.mean / a.mean).toFixed(3)} (mean), ${(b.p50 / a.p50).toFixed(3)} (p50); difference ${(b.mean - a.mean).toFixed(0)} µs mean (noise of a turn included); load at end ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
    );
    await knowledge.close();
  } finally {
    for (const store of stores) await store.close().catch(() => {});
    if (databases.length > 0) {
      for (const name of databases) await admin.query(`drop database if exists ${name} with (force)`);
      await admin.end();
    }
    rmSync(keyDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
