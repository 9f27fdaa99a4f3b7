import { circuitState } from '../metrics';
import { backoffDelay } from './backoff';

export type CircuitPhase = 'closed' | 'open' | 'half-open';

/** What a caller was let through as: an ordinary call, or the one trial of a half-open circuit. */
export type Permit = 'call' | 'trial';

export interface BreakerOptions {
  failureThreshold: number;
  /** The first open period; each further opening without a success in between doubles it, jittered. */
  resetMs: number;
  /** Where the open period stops growing; unset: it stays at `resetMs`. */
  maxResetMs?: number;
  /**
   * The longest a trial may take: the health check's deadline, or the timeout a caller gives its
   * trial call (see `trialTimeoutMs`). Unset: the caller's own timeout.
   */
  probeTimeoutMs?: number;
  /**
   * A cheap call that proves the dependency answers (e.g. a one-token completion). With it the
   * breaker runs the half-open trial itself and callers arriving meanwhile wait for its verdict
   * (at most `probeTimeoutMs`); without it, one caller's own call is the trial.
   */
  healthCheck?: (signal: AbortSignal) => Promise<unknown>;
  /** Injected clock and randomness for tests. */
  now?: () => number;
  random?: () => number;
  onChange?: (phase: CircuitPhase) => void;
  /** Told whether each health check passed (e.g. to count probes). */
  onProbe?: (ok: boolean) => void;
  /** Label of this breaker's `hub_circuit_open` series, e.g. "llm", "erp", "ticketing:zendesk". */
  name?: string;
}

const DEFAULT_PROBE_TIMEOUT_MS = 2_000;

/**
 * Consecutive-failure circuit breaker: closed → open after `failureThreshold` failures in a row →
 * half-open once the open period has passed, where one trial decides: success closes, failure
 * re-opens for a longer (doubling, capped, jittered) period. Short periods and a trial that is a
 * health check or a call cut to `probeTimeoutMs` let answers resume within seconds of a recovery
 * without a customer paying a full timeout for each trial. Kept in-house rather than opossum
 * because opossum trips on an error percentage over a rolling window and wraps the call with its
 * own timeout, while the hub's config speaks of consecutive failures and the clients own timeouts.
 */
export class CircuitBreaker {
  private phase: CircuitPhase = 'closed';
  private failures = 0;
  /** Openings since the last success: sets the length of the next open period. */
  private openings = 0;
  private openedAt = 0;
  private openForMs = 0;
  private trialInFlight = false;
  private probe?: Promise<boolean>;
  private readonly now: () => number;

  constructor(private readonly options: BreakerOptions) {
    this.now = options.now ?? Date.now;
  }

  state(): CircuitPhase {
    if (this.phase === 'open' && this.now() - this.openedAt >= this.openForMs) {
      this.transition('half-open');
    }
    return this.phase;
  }

  /**
   * Whether a call would be let through now (claims nothing). With a health check, a half-open
   * circuit counts as available: the caller waits for the check's verdict.
   */
  available(): boolean {
    const phase = this.state();
    if (phase === 'closed') return true;
    return phase === 'half-open' && (this.options.healthCheck !== undefined || !this.trialInFlight);
  }

  /**
   * Claim permission for one call now; undefined means fail fast. A half-open circuit without a
   * health check lets one caller through as the trial, which should use `trialTimeoutMs`. With a
   * health check this starts the check and fails fast; `acquire` waits for it instead.
   */
  tryAcquire(): Permit | undefined {
    const phase = this.state();
    if (phase === 'closed') return 'call';
    if (phase !== 'half-open') return undefined;
    if (this.options.healthCheck) {
      void this.runProbe();
      return undefined;
    }
    if (this.trialInFlight) return undefined;
    this.trialInFlight = true;
    return 'trial';
  }

  /** As `tryAcquire`, but a half-open circuit with a health check is waited for (≤ the probe timeout). */
  async acquire(): Promise<Permit | undefined> {
    if (!this.options.healthCheck || this.state() !== 'half-open') return this.tryAcquire();
    return (await this.runProbe()) && this.state() === 'closed' ? 'call' : undefined;
  }

  /** The deadline for a call made on `permit`: a trial's is cut to the probe timeout. */
  trialTimeoutMs(permit: Permit | undefined, callTimeoutMs: number): number {
    if (permit !== 'trial') return callTimeoutMs;
    return Math.min(callTimeoutMs, this.options.probeTimeoutMs ?? callTimeoutMs);
  }

  /** How long until a trial may run (0 unless open): when work refused now should come back. */
  retryInMs(): number {
    if (this.state() !== 'open') return 0;
    return Math.max(0, this.openedAt + this.openForMs - this.now());
  }

  /** Returns true when this success ended a run of failures (the dependency is back). */
  recordSuccess(): boolean {
    const recovered = this.failures > 0 || this.phase !== 'closed';
    this.failures = 0;
    this.openings = 0;
    this.trialInFlight = false;
    if (this.phase !== 'closed') this.transition('closed');
    return recovered;
  }

  recordFailure(): void {
    this.failures += 1;
    // Calls that started before the circuit opened and fail now say nothing new: they must not
    // restart (and lengthen) the open period.
    if (this.phase === 'open') return;
    const trialFailed = this.phase === 'half-open';
    this.trialInFlight = false;
    if (trialFailed || this.failures >= this.options.failureThreshold) this.open();
  }

  /** A call that ended without telling anything about the server's health (e.g. the caller aborted). */
  release(): void {
    this.trialInFlight = false;
  }

  private open(): void {
    this.openings += 1;
    const { resetMs, maxResetMs } = this.options;
    // Equal jitter keeps each period within [step/2, step): never longer than configured, and many
    // processes that saw the same outage do not all probe at the same instant.
    this.openForMs = backoffDelay(
      {
        baseMs: resetMs,
        maxMs: Math.max(resetMs, maxResetMs ?? resetMs),
        jitter: 'equal',
        random: this.options.random,
      },
      this.openings,
    );
    this.openedAt = this.now();
    this.transition('open');
  }

  /** One health check at a time; everyone half-open shares its verdict. */
  private runProbe(): Promise<boolean> {
    const check = this.options.healthCheck;
    if (!check) return Promise.resolve(false);
    this.probe ??= (async () => {
      this.trialInFlight = true;
      const timeoutMs = this.options.probeTimeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS;
      const deadline = new AbortController();
      let timer: NodeJS.Timeout | undefined;
      const expired = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          deadline.abort();
          reject(new Error(`health check took longer than ${timeoutMs} ms`));
        }, timeoutMs);
      });
      let ok = false;
      try {
        // Raced as well as aborted: a check that ignores its signal must not hold callers longer.
        await Promise.race([check(deadline.signal), expired]);
        ok = true;
      } catch {
        ok = false;
      } finally {
        clearTimeout(timer);
        this.probe = undefined;
      }
      this.options.onProbe?.(ok);
      if (ok) this.recordSuccess();
      else this.recordFailure();
      return ok;
    })();
    return this.probe;
  }

  private transition(phase: CircuitPhase): void {
    if (phase === this.phase) return;
    this.phase = phase;
    // The gauge reads 1 until a trial succeeds: a half-open circuit is still not trusted.
    circuitState.set({ breaker: this.options.name ?? 'default' }, phase === 'closed' ? 0 : 1);
    this.options.onChange?.(phase);
  }
}
