import { describe, expect, it } from 'vitest';
import { bottleneckLine, parseWorkerCounts, type ScaleOutRun, scaleOutTable } from '../../bench/scale-out';

const run = (workers: number, turnsPerS: number, machineBusy: number): ScaleOutRun => ({
  workers,
  turnsPerS,
  addedP50Ms: 40,
  addedP99Ms: 300,
  hubCpuS: 30,
  benchCpuS: 10,
  machineBusy,
  windowS: 20,
  load1: 2.5,
  failed: false,
});

describe('bench:realistic --scale-out', () => {
  it('reads worker counts and refuses what is not one', () => {
    expect(parseWorkerCounts('1, 2,4')).toEqual([1, 2, 4]);
    expect(() => parseWorkerCounts('1,0')).toThrow(/from 1 to 16/);
    expect(() => parseWorkerCounts('2,x')).toThrow(/--scale-out "2,x"/);
    expect(() => parseWorkerCounts('')).toThrow();
  });

  it('puts each run against the one-worker run, with CPU in cores', () => {
    const lines = scaleOutTable([run(1, 20, 0.7), { ...run(2, 30, 0.95), hubCpuS: 20 }, run(4, 31, 0.99)], 2);
    expect(lines).toHaveLength(5);
    // 70 % of 2 cores = 1.4 busy, less hub 1.5 and bench 0.5: none left to the rest of the machine.
    expect(lines[2]).toBe('| 1 | 20.00 | 1.00 | 40 / 300 | 1.50 | 0.50 | 0.00 | 70 % | 2.50 | ok |');
    // 95 % of 2 cores = 1.9 busy, less hub 1.0 and bench 0.5.
    expect(lines[3]).toContain('| 1.00 | 0.50 | 0.40 | 95 % |');
    expect(lines[3]).toContain('| 2 | 30.00 | 1.50 |');
    expect(lines[4]).toContain('| 4 | 31.00 | 1.55 |');
  });

  it('compares with the first run when no run has one worker', () => {
    const lines = scaleOutTable([run(2, 10, 0.5), run(4, 15, 0.6)], 2);
    expect(lines[3]).toContain('| 4 | 15.00 | 1.50 |');
  });

  it('names the CPU as the bottleneck only when the machine is busy and workers stopped adding', () => {
    expect(bottleneckLine([run(1, 20, 0.7), run(4, 22, 0.97)], 2)).toMatch(/^bottleneck: the machine's CPU/);
    expect(bottleneckLine([run(1, 20, 0.4), run(4, 22, 0.5)], 2)).toMatch(/^bottleneck: not the CPU/);
    expect(bottleneckLine([run(1, 20, 0.3), run(2, 38, 0.6)], 2)).toMatch(/^bottleneck: not reached/);
    expect(bottleneckLine([run(1, 20, 0.3)], 2)).toMatch(/one run only/);
  });
});
