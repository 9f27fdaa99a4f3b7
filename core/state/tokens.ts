/**
 * Fencing tokens that only grow per key. Seeded from the clock in microseconds, so the per-key record
 * can be forgotten (expired in Redis, pruned in memory) without a later token ever going backwards,
 * and tokens stay comparable across restarts. Values stay below 2^53, so they are exact JS numbers.
 */
export class MonotonicTokens {
  private readonly last = new Map<string, number>();

  next(key: string): number {
    const token = Math.max(Date.now() * 1000, (this.last.get(key) ?? 0) + 1);
    this.last.set(key, token);
    if (this.last.size > 10_000) this.prune();
    return token;
  }

  /** A record older than a second is below any clock seed issued now, so it adds nothing. */
  private prune(): void {
    const floor = (Date.now() - 1000) * 1000;
    for (const [key, token] of this.last) if (token < floor) this.last.delete(key);
  }
}
