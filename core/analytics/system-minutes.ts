import { sql } from 'kysely';
import type { Counter } from 'prom-client';
import { logger } from '../log';
import { errors, turnFailures } from '../metrics';
import { withDeadline } from '../resilience/deadline';
import type { AnalyticsStore } from './store';

/** What a row of `system_minutes` counts. */
export type SystemKind = 'turn_failed' | 'dead_letter' | 'error';

/** How long the minutes are kept: the console looks back a day; a week leaves room to compare. */
export const SYSTEM_MINUTES_KEPT_DAYS = 8;

const MINUTE = 60_000;

export const minuteOf = (at: number) => Math.floor(at / MINUTE) * MINUTE;

interface Row {
  tenant: string;
  channel: string;
  kind: SystemKind;
  count: number;
}

/**
 * Adds this process's counters' growth to `system_minutes` (migration 0012), so the console's error
 * rate and dead letters are those of every process, api and workers alike, not of the one that
 * answers the request. The counters are the ones on /metrics: `hub_turn_failures_total` (a retried
 * or dead-lettered attempt under its tenant and channel; an outage's wait is no failure) and
 * `hub_errors_total` (under no tenant: the stage that logged it may have none).
 *
 * Each flush writes what the counters grew by since the last one that was written, under the minute
 * the period began in; a flush that fails keeps the growth for the next. One flusher per process:
 * the counters are the process's.
 */
export class SystemMinutes {
  private written = new Map<string, number>();
  private periodStart: number;

  constructor(
    private readonly analytics: AnalyticsStore,
    private readonly now: () => number = Date.now,
  ) {
    this.periodStart = now();
  }

  /** Take the counters as they are now as the start: growth before this process's flusher is not counted. */
  async baseline(): Promise<void> {
    for (const [key, { value }] of await this.read()) this.written.set(key, value);
  }

  /** Write the growth since the last flush; returns the rows written. */
  async flush(): Promise<number> {
    const current = await this.read();
    const rows: Row[] = [];
    for (const [key, { row, value }] of current) {
      const grown = value - (this.written.get(key) ?? 0);
      if (grown > 0) rows.push({ ...row, count: grown });
    }
    const minute = new Date(minuteOf(this.periodStart));
    const started = this.now();
    if (rows.length) {
      // Rows of one minute may come from several processes, or from two flushes of one: add up.
      await this.analytics.db
        .insertInto('system_minutes')
        .values(rows.map((row) => ({ minute, ...row })))
        .onConflict((oc) =>
          oc
            .columns(['minute', 'tenant', 'channel', 'kind'])
            .doUpdateSet({ count: sql`system_minutes.count + excluded.count` }),
        )
        .execute();
    }
    for (const [key, { value }] of current) this.written.set(key, value);
    this.periodStart = started;
    return rows.length;
  }

  /** Delete the minutes older than {@link SYSTEM_MINUTES_KEPT_DAYS}. */
  async purge(): Promise<void> {
    const cutoff = new Date(this.now() - SYSTEM_MINUTES_KEPT_DAYS * 86_400_000);
    await this.analytics.db.deleteFrom('system_minutes').where('minute', '<', cutoff).execute();
  }

  private async read(): Promise<Map<string, { row: Omit<Row, 'count'>; value: number }>> {
    const out = new Map<string, { row: Omit<Row, 'count'>; value: number }>();
    const add = (row: Omit<Row, 'count'>, value: number) => {
      const key = `${row.kind}\n${row.tenant}\n${row.channel}`;
      out.set(key, { row, value: (out.get(key)?.value ?? 0) + value });
    };
    for (const { labels, value } of (await (turnFailures as Counter<string>).get()).values) {
      if (labels.verdict === 'outage') continue;
      const where = { tenant: String(labels.tenant ?? ''), channel: String(labels.channel ?? '') };
      add({ ...where, kind: 'turn_failed' }, value);
      if (labels.verdict === 'dead') add({ ...where, kind: 'dead_letter' }, value);
    }
    for (const { value } of (await (errors as Counter<string>).get()).values) {
      add({ tenant: '', channel: '', kind: 'error' }, value);
    }
    return out;
  }
}

/**
 * Flush at every minute's turn (and purge once an hour); returns the stop function, which flushes
 * the last growth. A failed flush is logged; its growth goes with the next.
 */
export function startSystemMinutes(analytics: AnalyticsStore): () => Promise<void> {
  const minutes = new SystemMinutes(analytics);
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;
  let flushes = 0;
  const ready = minutes.baseline().catch(() => undefined);
  const flush = () => {
    running ??= withDeadline(
      (async () => {
        await ready;
        await minutes.flush();
        if (++flushes % 60 === 1) await minutes.purge();
      })(),
      MINUTE / 2,
    )
      .catch((error: unknown) => {
        logger.warn({ err: error, code: 'analytics.system_minutes_failed' }, 'system minutes not written');
      })
      .finally(() => {
        running = undefined;
      });
    return running;
  };
  const schedule = () => {
    // Just past the minute's turn, so each flush writes the minute that ended.
    timer = setTimeout(
      () => {
        void flush();
        schedule();
      },
      MINUTE - (Date.now() % MINUTE) + 200,
    );
    timer.unref();
  };
  schedule();
  return async () => {
    clearTimeout(timer);
    await running;
    await flush();
  };
}
