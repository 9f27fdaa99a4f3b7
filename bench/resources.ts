/**
 * Where the CPU goes while a target is under load: each process's CPU time (Linux /proc), Redis'
 * own CPU and command counts (INFO), and the PostgreSQL backends serving the bench database.
 */
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import type pg from 'pg';

/** Linux reports CPU time in clock ticks; 100 per second on every common kernel build. */
const TICKS_PER_S = 100;

/** user + system CPU of a process (all its threads), ms; 0 when it cannot be read. */
export function processCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces; the fields after its closing parenthesis are fixed.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_S;
  } catch {
    return 0;
  }
}

export interface Snapshot {
  at: bigint;
  cpuMs: Record<string, number>;
  redisCalls: Map<string, number>;
  /** CPU ms of each PostgreSQL backend serving the bench database, by pid. */
  pgBackends: Map<number, number>;
}

export interface ResourceProbe {
  snapshot(): Promise<Snapshot>;
}

export interface Usage {
  /** CPU ms per process group over the window. */
  cpuMs: Record<string, number>;
  /** Redis commands issued in the window, by command, busiest first (every client of the server). */
  redisCalls: Array<[string, number]>;
  wallMs: number;
}

function parseCommandStats(info: string): Map<string, number> {
  const calls = new Map<string, number>();
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm))
    calls.set(match[1] ?? '', Number(match[2]));
  return calls;
}

function redisCpuMs(info: string): number {
  const user = Number(/used_cpu_user:([\d.]+)/.exec(info)?.[1] ?? 0);
  const sys = Number(/used_cpu_sys:([\d.]+)/.exec(info)?.[1] ?? 0);
  return (user + sys) * 1000;
}

export function createProbe(deps: {
  redis: Redis;
  pg: pg.Client;
  database: string;
  /** Child processes to account, by label. */
  pids: () => Record<string, number>;
}): ResourceProbe {
  return {
    async snapshot() {
      const [cpuInfo, statsInfo, backends] = await Promise.all([
        deps.redis.info('cpu'),
        deps.redis.info('commandstats'),
        deps.pg.query<{ pid: number }>('select pid from pg_stat_activity where datname = $1', [
          deps.database,
        ]),
      ]);
      const own = process.cpuUsage();
      const cpuMs: Record<string, number> = {};
      for (const [label, pid] of Object.entries(deps.pids())) cpuMs[label] = processCpuMs(pid);
      cpuMs['load generator + LLM emulator'] = (own.user + own.system) / 1000;
      cpuMs.redis = redisCpuMs(cpuInfo);
      return {
        at: process.hrtime.bigint(),
        cpuMs,
        redisCalls: parseCommandStats(statsInfo),
        pgBackends: new Map(backends.rows.map((row) => [row.pid, processCpuMs(row.pid)])),
      };
    },
  };
}

export function usageBetween(before: Snapshot, after: Snapshot): Usage {
  const cpuMs: Record<string, number> = {};
  for (const [label, value] of Object.entries(after.cpuMs)) cpuMs[label] = value - (before.cpuMs[label] ?? 0);
  // Per backend: one that connected during the window counts from zero, one that left is lost (rare under load).
  let pgMs = 0;
  for (const [pid, value] of after.pgBackends) pgMs += value - (before.pgBackends.get(pid) ?? 0);
  cpuMs['postgres (bench db backends)'] = pgMs;
  const redisCalls: Array<[string, number]> = [];
  for (const [command, calls] of after.redisCalls) {
    const delta = calls - (before.redisCalls.get(command) ?? 0);
    // INFO itself and the probe's own calls are noise.
    if (delta > 0 && command !== 'info') redisCalls.push([command, delta]);
  }
  redisCalls.sort((a, b) => b[1] - a[1]);
  return {
    cpuMs,
    redisCalls,
    wallMs: Number(after.at - before.at) / 1e6,
  };
}
