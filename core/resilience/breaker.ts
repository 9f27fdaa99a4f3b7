import { circuitState } from '../metrics';

export type CircuitPhase = 'closed' | 'open' | 'half-open';

export interface BreakerOptions {
  failureThreshold: number;
  resetMs: number;
  /** Injected clock for tests. */
  now?: () => number;
  onChange?: (phase: CircuitPhase) => void;
  /** Label of this breaker's `hub_circuit_open` series, e.g. "llm", "erp", "ticketing:zendesk". */
  name?: string;
}

/**
 * Consecutive-failure circuit breaker: closed → open after `failureThreshold` failures in a row →
 * half-open once `resetMs` has passed, where exactly one trial call goes through; its outcome
 * closes or re-opens the circuit. Kept in-house rather than opossum because opossum trips on an
 * error percentage over a rolling window and wraps the call with its own timeout, while the hub's
 * config speaks of consecutive failures and the client already owns timeouts and retries.
 */
export class CircuitBreaker {
  private phase: CircuitPhase = 'closed';
  private failures = 0;
  private openedAt = 0;
  private trialInFlight = false;
  private readonly now: () => number;

  constructor(private readonly options: BreakerOptions) {
    this.now = options.now ?? Date.now;
  }

  state(): CircuitPhase {
    if (this.phase === 'open' && this.now() - this.openedAt >= this.options.resetMs) {
      this.transition('half-open');
    }
    return this.phase;
  }

  /** Whether a call would be let through now (does not claim the half-open trial). */
  available(): boolean {
    const phase = this.state();
    return phase === 'closed' || (phase === 'half-open' && !this.trialInFlight);
  }

  /** Claim permission for one call; false means fail fast. */
  tryAcquire(): boolean {
    if (!this.available()) return false;
    if (this.phase === 'half-open') this.trialInFlight = true;
    return true;
  }

  recordSuccess(): void {
    this.failures = 0;
    this.trialInFlight = false;
    if (this.phase !== 'closed') this.transition('closed');
  }

  recordFailure(): void {
    this.failures += 1;
    const trialFailed = this.phase === 'half-open';
    this.trialInFlight = false;
    if (trialFailed || this.failures >= this.options.failureThreshold) {
      this.openedAt = this.now();
      this.transition('open');
    }
  }

  /** A call that ended without telling anything about the server's health (e.g. the caller aborted). */
  release(): void {
    this.trialInFlight = false;
  }

  private transition(phase: CircuitPhase): void {
    if (phase === this.phase) return;
    this.phase = phase;
    // The gauge reads 1 until a trial succeeds: a half-open circuit is still not trusted.
    circuitState.set({ breaker: this.options.name ?? 'default' }, phase === 'closed' ? 0 : 1);
    this.options.onChange?.(phase);
  }
}
