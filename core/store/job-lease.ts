import { randomUUID } from 'node:crypto';
import { type Kysely, type RawBuilder, sql } from 'kysely';
import type { Database } from './schema';

interface JobLeasesTable {
  name: string;
  holder: string;
  until: Date | string;
}

type LeaseDb = Kysely<{ job_leases: JobLeasesTable }>;

/**
 * A deployment-wide lease on one named job (migration 0010): whoever holds the only unexpired row
 * runs the job. One upsert takes it, so any number of processes on one PostgreSQL (or one PGlite)
 * race safely; a holder that dies stops renewing and its lease lapses after `ttlMs`.
 */
export class JobLease {
  private readonly db: LeaseDb;
  /** This holder's identity: unique per instance, so two runners in one process do not share a lease. */
  readonly holder: string;

  constructor(
    db: Kysely<Database>,
    readonly name: string,
    holder: string = randomUUID(),
  ) {
    this.db = db as unknown as LeaseDb;
    this.holder = holder;
  }

  /** Take the lease for `ttlMs` when nobody's lease runs (this holder's own included): false while one does. */
  acquire(ttlMs: number): Promise<boolean> {
    return this.upsert(ttlMs, sql<boolean>`job_leases.until < now()`);
  }

  /** Extend this holder's lease by `ttlMs` from now; false when it lapsed and someone else took it. */
  renew(ttlMs: number): Promise<boolean> {
    return this.upsert(ttlMs, sql<boolean>`job_leases.until < now() or job_leases.holder = ${this.holder}`);
  }

  private async upsert(ttlMs: number, when: RawBuilder<boolean>): Promise<boolean> {
    const until = sql<string>`now() + (${Math.max(1, Math.round(ttlMs))}::integer * interval '1 millisecond')`;
    const taken = await this.db
      .insertInto('job_leases')
      .values({ name: this.name, holder: this.holder, until })
      .onConflict((oc) => oc.column('name').doUpdateSet({ holder: this.holder, until }).where(when))
      .returning('holder')
      .executeTakeFirst();
    return taken?.holder === this.holder;
  }

  /** Give the lease up early, if it is still ours. */
  async release(): Promise<void> {
    await this.db
      .deleteFrom('job_leases')
      .where('name', '=', this.name)
      .where('holder', '=', this.holder)
      .execute();
  }
}
