import { logger } from '../log';
import type { ConversationLock } from '../types';
import { HubError } from '../types/errors';

/**
 * Keeps a conversation lock alive while its events are handled, renewing every `renewMs` (a heartbeat:
 * the TTL is short, so a worker that dies frees its conversations within seconds). When
 * a renewal is refused (the lease lapsed and may belong to someone else now) the signal aborts, so the
 * handler can stop early, and the drain loop stops taking events.
 */
export class Lease {
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private ended = false;
  /** The turn's end is being committed: the script may let the lock go, so a renewal may find none. */
  private settling = false;

  constructor(
    readonly lock: ConversationLock,
    ttlMs: number,
    renewMs = Math.floor(ttlMs / 3),
  ) {
    this.timer = setInterval(() => void this.renew(ttlMs), Math.max(10, renewMs));
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get lost(): boolean {
    return this.controller.signal.aborted;
  }

  private async renew(ttlMs: number): Promise<void> {
    try {
      if (this.lost || this.ended) return;
      // A renewal on its way while the turn's end let the lock go, or when the drain ended, finds no
      // lock: that is the end of the lease, not its loss (the turn-end script checks the fence).
      if ((await this.lock.extend(ttlMs)) || this.ended || this.settling) return;
      clearInterval(this.timer);
      // Retryable: the next holder of the lock delivers the event again.
      const lost = new HubError('bus.lock_lost', 'The conversation lock was lost mid-delivery.', {
        retryable: true,
      });
      this.controller.abort(lost);
    } catch (error) {
      // A Redis blip: keep trying until the lease really lapses; REMOVE_HEAD's fence check stays the guard.
      logger.warn({ err: error }, 'conversation lock renewal failed');
    }
  }

  /**
   * Runs the turn's end (`work`), which may release the lock or hand it on to the next event; a
   * renewal that finds no lock meanwhile is not a loss, and once `releases` says the lock went, the
   * lease renews no more.
   */
  async settle<T>(work: () => Promise<T>, releases: (result: T) => boolean): Promise<T> {
    this.settling = true;
    try {
      const result = await work();
      if (releases(result)) this.stop();
      return result;
    } finally {
      this.settling = false;
    }
  }

  private stop(): void {
    this.ended = true;
    clearInterval(this.timer);
  }

  /** Stop renewing, and release the lock unless the caller knows it is gone already (`release: false`). */
  async end({ release = true }: { release?: boolean } = {}): Promise<void> {
    this.stop();
    if (release) await this.lock.release();
  }
}
