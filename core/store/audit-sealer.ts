import { logger } from '../log';
import type { AuditLog } from './audit-log';

/** How often a worker process looks for pending audit records (core/store/audit-log.ts `seal`). */
export const SEAL_EVERY_MS = 1_000;
/** Forged rows (bad MAC) remembered so the probe does not find them every second; they stay faults of verify. */
const FORGED_KEPT = 100;

/**
 * Chains the turns' pending audit records every second in each worker process: one indexed probe
 * a tick, and a seal (a transaction per batch, under the chain head's row lock) when it finds one.
 * Several processes may run it at once: the head lock makes them take turns, and the second finds
 * nothing left. A failure is logged and the next tick tries again; a record left pending past the
 * grace period is a fault of `hub audit verify`.
 */
export class AuditSealer {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private forged: string[] = [];
  private stopping = false;

  constructor(
    private readonly log: AuditLog,
    private readonly everyMs = SEAL_EVERY_MS,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.everyMs);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    if (this.running || this.stopping) return;
    this.running = this.sealIfPending()
      .catch((error: unknown) => logger.warn({ err: error }, 'audit sealer failed; the next tick retries'))
      .finally(() => {
        this.running = undefined;
      });
    await this.running;
  }

  /** Seals when a sound pending record waits; returns how many were chained. */
  async sealIfPending(): Promise<number> {
    if (!(await this.log.hasPending(this.forged))) return 0;
    const { sealed, forged } = await this.log.seal();
    const fresh = forged.filter((id) => !this.forged.includes(id));
    if (fresh.length > 0) {
      logger.error(
        { ids: fresh, code: 'audit.forged_pending' },
        'pending audit records whose MAC does not match were left unchained: hub audit verify names them',
      );
      this.forged = [...this.forged, ...fresh].slice(-FORGED_KEPT);
    }
    return sealed;
  }

  /** Stops the timer, waits for a seal in progress, and seals what this process left pending. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.timer);
    await this.running;
    await this.sealIfPending().catch((error: unknown) =>
      logger.warn(
        { err: error },
        'audit sealer: the last seal failed; another process or the next start seals',
      ),
    );
  }
}
