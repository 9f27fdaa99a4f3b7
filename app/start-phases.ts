import { logger } from '../core/log';

/**
 * What start-up is doing, as it does it: one log line as each phase begins (so a slow or stuck
 * start says where it is), and one when the hub is up with every phase's duration and the
 * process's memory, to compare a first start (caches filled) with the next ones.
 */
export class StartPhases {
  private readonly began = performance.now();
  private readonly durations: Record<string, number> = {};
  private current: { name: string; since: number } | undefined;

  /** Ends the phase under way (if any) and begins `name`; `doing` says what it does, in a few words. */
  begin(name: string, doing: string, fields: Record<string, unknown> = {}): void {
    this.end();
    this.current = { name, since: performance.now() };
    logger.info({ phase: name, ...fields }, `start-up: ${doing}`);
  }

  /** Ends the phase under way. */
  end(): void {
    if (!this.current) return;
    const ms = Math.round(performance.now() - this.current.since);
    this.durations[this.current.name] = (this.durations[this.current.name] ?? 0) + ms;
    this.current = undefined;
  }

  /** Time since the first phase began, in ms. */
  get elapsedMs(): number {
    return Math.round(performance.now() - this.began);
  }

  /** Every phase's milliseconds so far, in the order they ran. */
  get phases(): Readonly<Record<string, number>> {
    return this.durations;
  }

  /** The closing line: total, per phase, resident memory. */
  finish(fields: Record<string, unknown> = {}): void {
    this.end();
    const memory = process.memoryUsage();
    const cpu = process.cpuUsage();
    logger.info(
      {
        ...fields,
        startMs: this.elapsedMs,
        // CPU time of the process since it began (modules included): what a loaded machine does not inflate.
        cpuMs: Math.round((cpu.user + cpu.system) / 1000),
        phasesMs: this.durations,
        rssMb: Math.round(memory.rss / 1048576),
        heapMb: Math.round(memory.heapUsed / 1048576),
        // WebAssembly memory (the embedded database) and buffers, outside the JavaScript heap.
        externalMb: Math.round(memory.external / 1048576),
      },
      `hub started in ${(this.elapsedMs / 1000).toFixed(1)} s`,
    );
  }
}
