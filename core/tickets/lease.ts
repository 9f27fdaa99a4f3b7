import { type Kysely, type RawBuilder, sql } from 'kysely';
import type { LeaseColumns, TicketDatabase } from './schema';

/** The outbox tables whose rows are leased, retried and dead-lettered the same way. */
export type LeasedTable = 'ticket_outbox' | 'ticket_comments';

type LeaseDb = Kysely<Record<LeasedTable, LeaseColumns>>;

/** A failed attempt either goes back to pending after `retryInMs` or is dead. */
export type FailureOutcome = { dead: true } | { dead: false; retryInMs: number };

/** `now() + ms` as a timestamp expression (a lease's end, or when a retry falls due). */
export function msFromNow(ms: number): RawBuilder<string> {
  return sql<string>`now() + (${ms}::integer * interval '1 millisecond')`;
}

/**
 * The row-state moves both outboxes share, on one table: delivered, failed (pending again or
 * dead), deferred without spending an attempt, replayed from dead, and the count still pending.
 * What a row carries and how it is claimed stays with each outbox.
 */
export class LeasedRows {
  private readonly db: LeaseDb;

  constructor(
    db: Kysely<TicketDatabase>,
    private readonly table: LeasedTable,
    /** The columns of `table` that `replay` matches ids against. */
    private readonly replayKeys: readonly string[],
  ) {
    this.db = db as unknown as LeaseDb;
  }

  /** `trx` lets the caller update its own rows in the same transaction. */
  async markDelivered(id: string, trx?: Kysely<TicketDatabase>): Promise<void> {
    const db = (trx as unknown as LeaseDb | undefined) ?? this.db;
    await db
      .updateTable(this.table)
      .set({ delivered_at: sql`now()`, locked_until: null, last_error: null })
      .where('id', '=', id)
      .execute();
  }

  async markFailed(id: string, error: string, outcome: FailureOutcome): Promise<void> {
    await this.db
      .updateTable(this.table)
      .set({
        locked_until: null,
        last_error: error.slice(0, 1000),
        ...(outcome.dead
          ? { dead_at: sql`now()` }
          : { next_attempt_at: msFromNow(Math.round(outcome.retryInMs)) }),
      })
      .where('id', '=', id)
      .execute();
  }

  async defer(id: string, retryInMs: number): Promise<void> {
    await this.db
      .updateTable(this.table)
      .set({
        locked_until: null,
        attempts: sql`greatest(attempts - 1, 0)`,
        next_attempt_at: msFromNow(Math.round(retryInMs)),
      })
      .where('id', '=', id)
      .execute();
  }

  /**
   * Rows of `adapter` waiting for a later try fall due within `spreadMs` (uniformly spread), keeping
   * their attempts; returns how many. Rows leased right now are left to their worker.
   */
  async wake(adapter: string, spreadMs: number): Promise<number> {
    const result = await sql`
      update ${sql.table(this.table)}
         set next_attempt_at = now() + random() * (${Math.round(spreadMs)}::integer * interval '1 millisecond')
       where delivered_at is null and dead_at is null
         and next_attempt_at > now()
         and (locked_until is null or locked_until < now())
         and request_id in (select id from ticket_requests where adapter = ${adapter})`.execute(this.db);
    return Number(result.numAffectedRows ?? 0);
  }

  /**
   * Dead rows (all, or those whose `replayKeys` column holds one of `ids`) go back to pending with
   * fresh attempts; returns how many.
   */
  async replay(ids?: string[]): Promise<number> {
    if (ids && ids.length === 0) return 0;
    let query = this.db
      .updateTable(this.table)
      .set({ dead_at: null, attempts: 0, next_attempt_at: sql`now()`, locked_until: null })
      .where('dead_at', 'is not', null);
    if (ids) query = query.where((eb) => eb.or(this.replayKeys.map((key) => eb(sql.ref(key), 'in', ids))));
    const result = await query.executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  /** Rows not yet delivered and not dead. */
  async pending(): Promise<number> {
    const row = await this.db
      .selectFrom(this.table)
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('delivered_at', 'is', null)
      .where('dead_at', 'is', null)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }
}
