import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from '../../core/resilience/breaker';

/** The one circuit breaker: short, growing, jittered open periods and cheap half-open trials. */
function clock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

function tripped(breaker: CircuitBreaker, failures: number): void {
  for (let i = 0; i < failures; i++) breaker.recordFailure();
}

describe('CircuitBreaker open periods', () => {
  it('doubles the open period per failed trial up to maxResetMs, within [step/2, step)', () => {
    const time = clock();
    for (const random of [0, 0.999]) {
      const breaker = new CircuitBreaker({
        failureThreshold: 2,
        resetMs: 500,
        maxResetMs: 2_000,
        now: time.now,
        random: () => random,
      });
      tripped(breaker, 2);
      const periods: number[] = [];
      for (let opening = 0; opening < 5; opening++) {
        periods.push(breaker.retryInMs());
        time.advance(breaker.retryInMs());
        expect(breaker.state()).toBe('half-open');
        expect(breaker.tryAcquire()).toBe('trial');
        breaker.recordFailure();
        expect(breaker.state()).toBe('open');
      }
      const steps = [500, 1_000, 2_000, 2_000, 2_000];
      periods.forEach((period, i) => {
        const step = steps[i] as number;
        expect(period).toBeGreaterThanOrEqual(step / 2);
        expect(period).toBeLessThan(step);
      });
      // A success starts the next outage at the first, shortest period again.
      time.advance(breaker.retryInMs());
      expect(breaker.tryAcquire()).toBe('trial');
      expect(breaker.recordSuccess()).toBe(true);
      tripped(breaker, 2);
      expect(breaker.retryInMs()).toBeLessThan(500);
    }
  });

  it('does not let failures of calls started before it opened restart the open period', () => {
    const time = clock();
    const breaker = new CircuitBreaker({
      failureThreshold: 3,
      resetMs: 1_000,
      now: time.now,
      random: () => 0,
    });
    tripped(breaker, 3);
    const first = breaker.retryInMs();
    time.advance(first - 10);
    tripped(breaker, 20);
    expect(breaker.retryInMs()).toBe(10);
  });

  it('cuts a trial call to the probe timeout, not an ordinary one', () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1, resetMs: 1, probeTimeoutMs: 2_000 });
    expect(breaker.trialTimeoutMs('call', 30_000)).toBe(30_000);
    expect(breaker.trialTimeoutMs('trial', 30_000)).toBe(2_000);
    expect(breaker.trialTimeoutMs('trial', 1_000)).toBe(1_000);
    expect(breaker.recordSuccess()).toBe(false); // nothing had failed
  });
});

describe('CircuitBreaker health check', () => {
  it('runs one check for every caller waiting on it, and closes when it passes', async () => {
    const time = clock();
    let checks = 0;
    let pass!: () => void;
    const breaker = new CircuitBreaker({
      failureThreshold: 1,
      resetMs: 100,
      now: time.now,
      healthCheck: () => {
        checks++;
        return new Promise<void>((resolve) => {
          pass = resolve;
        });
      },
    });
    breaker.recordFailure();
    expect(await breaker.acquire()).toBeUndefined(); // open: fail fast, no check
    expect(checks).toBe(0);
    time.advance(100);
    expect(breaker.available()).toBe(true);
    const waiting = [breaker.acquire(), breaker.acquire(), breaker.acquire()];
    expect(breaker.tryAcquire()).toBeUndefined(); // a caller that will not wait fails fast
    await Promise.resolve();
    expect(checks).toBe(1);
    pass();
    expect(await Promise.all(waiting)).toEqual(['call', 'call', 'call']);
    expect(breaker.state()).toBe('closed');
  });

  it('gives up on a hung check after probeTimeoutMs, aborting it, and opens again', async () => {
    let aborted = false;
    const breaker = new CircuitBreaker({
      failureThreshold: 1,
      resetMs: 1,
      maxResetMs: 1,
      probeTimeoutMs: 150,
      healthCheck: (signal) =>
        new Promise(() => {
          signal.addEventListener('abort', () => {
            aborted = true;
          });
        }),
    });
    breaker.recordFailure();
    await new Promise((resolve) => setTimeout(resolve, 5));
    const started = Date.now();
    expect(await breaker.acquire()).toBeUndefined();
    const waited = Date.now() - started;
    expect(waited).toBeGreaterThanOrEqual(140);
    expect(waited).toBeLessThan(1_000);
    expect(aborted).toBe(true);
    expect(breaker.state()).not.toBe('closed');
  });
});
