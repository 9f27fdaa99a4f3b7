/**
 * `npm run bench:realistic -- --scale-out 1,2,4`: the hub as one API process and N worker processes
 * on one Redis, the emulator uncapped, turns/s per N. What is read here: CPU time of processes and of
 * the machine (Linux /proc), and the table that puts the runs side by side.
 */
import { readFileSync } from 'node:fs';

/** `1,2,4` → [1, 2, 4]; each a whole number from 1 to `max`, in the order given. */
export function parseWorkerCounts(list: string, max = 16): number[] {
  const counts = list.split(',').map((part) => part.trim());
  if (!counts.length || counts.some((c) => !/^\d+$/.test(c) || Number(c) < 1 || Number(c) > max))
    throw new Error(
      `--scale-out "${list}": give worker counts from 1 to ${max}, comma-separated, e.g. 1,2,4`,
    );
  return counts.map(Number);
}

/** The clock ticks per second of /proc's CPU times (USER_HZ: 100 on Linux builds in use). */
const TICKS_PER_S = 100;

/** CPU seconds (user + system) a process has used so far; NaN when /proc cannot be read. */
export function processCpuS(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) in parentheses: utime is the 12th, stime the 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_S;
  } catch {
    return Number.NaN;
  }
}

/** The machine's CPU seconds so far, busy and in all (every core; /proc/stat's first line). */
export function machineCpuS(): { busy: number; total: number } {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const ticks = line.trim().split(/\s+/).slice(1).map(Number);
    const total = ticks.reduce((sum, t) => sum + t, 0);
    // idle and iowait are the 4th and 5th.
    const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
    return { busy: (total - idle) / TICKS_PER_S, total: total / TICKS_PER_S };
  } catch {
    return { busy: Number.NaN, total: Number.NaN };
  }
}

export interface ScaleOutRun {
  workers: number;
  turnsPerS: number;
  addedP50Ms: number;
  addedP99Ms: number;
  /** CPU seconds in the measured window: the hub's processes (API and workers) and the bench's own (load and emulator). */
  hubCpuS: number;
  benchCpuS: number;
  /** The machine's busy share of all its cores in the window, 0..1. */
  machineBusy: number;
  windowS: number;
  load1: number;
  failed: boolean;
}

const fmt = (n: number, digits: number) => (Number.isFinite(n) ? n.toFixed(digits) : '-');

/** The side-by-side table (Markdown): ×1-worker against the run with 1 worker, else the first run. */
export function scaleOutTable(runs: ScaleOutRun[], cores: number): string[] {
  const base = runs.find((r) => r.workers === 1) ?? runs[0];
  const lines = [
    `| workers | turns/s | x 1 worker | hub-added p50 / p99 ms | hub CPU (cores) | bench CPU (cores) | rest of machine (cores) | machine busy (${cores} cores) | load 1 min | checks |`,
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of runs) {
    const ratio = base && base.turnsPerS > 0 ? r.turnsPerS / base.turnsPerS : Number.NaN;
    // Redis, PostgreSQL and whatever else runs on the machine: busy cores less the hub's and the bench's.
    const rest = r.machineBusy * cores - (r.hubCpuS + r.benchCpuS) / r.windowS;
    lines.push(
      `| ${r.workers} | ${fmt(r.turnsPerS, 2)} | ${fmt(ratio, 2)} | ${fmt(r.addedP50Ms, 0)} / ${fmt(r.addedP99Ms, 0)} | ${fmt(r.hubCpuS / r.windowS, 2)} | ${fmt(r.benchCpuS / r.windowS, 2)} | ${fmt(Math.max(0, rest), 2)} | ${fmt(100 * r.machineBusy, 0)} % | ${fmt(r.load1, 2)} | ${r.failed ? 'FAILED' : 'ok'} |`,
    );
  }
  return lines;
}

/**
 * Where the next bottleneck is, read from the figures: the machine's CPU when it is (nearly) all busy
 * while adding workers stopped adding turns/s; else the hub's own processes or something outside them.
 */
export function bottleneckLine(runs: ScaleOutRun[], cores: number): string {
  const last = runs.at(-1);
  const base = runs.find((r) => r.workers === 1) ?? runs[0];
  if (!last || !base || runs.length < 2)
    return 'bottleneck: one run only; give two or more worker counts to compare';
  const gain = base.turnsPerS > 0 ? last.turnsPerS / base.turnsPerS : Number.NaN;
  const scaled = gain >= 0.8 * (last.workers / base.workers);
  const busy = `${fmt(100 * last.machineBusy, 0)} % of ${cores} cores busy at ${last.workers} workers (hub ${fmt(last.hubCpuS / last.windowS, 2)} cores, bench ${fmt(last.benchCpuS / last.windowS, 2)})`;
  if (scaled)
    return `bottleneck: not reached; ${last.workers} workers give ${fmt(gain, 2)}x one worker's turns/s; ${busy}`;
  if (last.machineBusy >= 0.85)
    return `bottleneck: the machine's CPU; ${last.workers} workers give ${fmt(gain, 2)}x one worker's turns/s with ${busy}, so more workers on this machine only share the same cores`;
  return `bottleneck: not the CPU (${busy}) yet ${last.workers} workers give only ${fmt(gain, 2)}x one worker's turns/s: the closed loop itself (turns/s = conversations ÷ turn latency: try more --conversations), the API process, Redis or PostgreSQL`;
}
