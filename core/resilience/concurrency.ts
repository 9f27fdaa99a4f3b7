import pLimit, { type LimitFunction } from 'p-limit';
import { Gauge } from 'prom-client';
import { registry } from '../metrics';

/** Runs `call` when a slot is free; a caller whose signal aborts while it waits leaves the line at once. */
export type ConcurrencyLimit = <T>(call: () => Promise<T>, signal?: AbortSignal) => Promise<T>;

/** Every limiter of the process by dependency, read at scrape time (several of one name: summed). */
const limiters = new Set<{ dependency: string; limit: LimitFunction }>();

function scraped(name: string, help: string, read: (limit: LimitFunction) => number): void {
  new Gauge({
    name,
    help,
    labelNames: ['dependency'],
    registers: [registry],
    collect() {
      this.reset();
      const sums = new Map<string, number>();
      for (const { dependency, limit } of limiters) {
        sums.set(dependency, (sums.get(dependency) ?? 0) + read(limit));
      }
      for (const [dependency, value] of sums) this.set({ dependency }, value);
    },
  });
}

scraped(
  'hub_dependency_waiting',
  'Calls waiting for a free slot of a dependency with a concurrency limit (llm.maxConcurrency, erp.maxConcurrency)',
  (limit) => limit.pendingCount,
);
scraped(
  'hub_dependency_in_flight',
  'Calls to a dependency with a concurrency limit running now',
  (limit) => limit.activeCount,
);

/**
 * At most `max` calls to one dependency at a time (an LLM server's batch size, e.g. vLLM
 * `--max-num-seqs`; an ERP's connection limit): the calls beyond it wait here, in order, instead of
 * piling up inside the server where they time out and are retried. `undefined` sets no limit.
 */
export function concurrencyLimit(max: number | undefined, dependency: string): ConcurrencyLimit {
  if (!max) return (call) => call();
  const limit = pLimit(max);
  limiters.add({ dependency, limit });
  return async <T>(call: () => Promise<T>, signal?: AbortSignal): Promise<T> => {
    signal?.throwIfAborted();
    const queued = limit(() => {
      // Its caller gave up while it waited: the slot goes to the next one at once.
      signal?.throwIfAborted();
      return call();
    });
    if (!signal) return queued;
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      queued.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    });
  };
}
