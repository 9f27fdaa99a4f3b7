import type { TurnFact } from '../analytics/facts';
import type { AnalyticsStore } from '../analytics/store';
import { recordedTurnOf } from '../analytics/store';
import { countRecordedFact } from '../analytics/writer';
import { logger } from '../log';
import { errors } from '../metrics';
import { isOutage } from '../resilience/outage';
import { type TurnAuditRecord, turnAuditEntry } from '../security/audit';
import type { KyselyStore } from '../store/kysely-store';
import type { InboundEvent, OutboundMessage } from '../types';

/** Everything a turn writes to the database, at once (core/dialog/turn.ts). */
export interface TurnWrite {
  event: InboundEvent;
  customerId?: string;
  replies: readonly OutboundMessage[];
  audit: TurnAuditRecord;
  fact: TurnFact;
}

/** Writes a turn; `inserted[i]` says whether reply i was new (false: an earlier attempt stored it). */
export type TurnWriter = (turn: TurnWrite) => Promise<{ inserted: boolean[] }>;

/**
 * The turn's one statement (KyselyStore.recordTurn): transcript, the audit record (pending, when
 * `audit` is on) and the business facts (when `analytics` is given), then the facts' counters
 * for a fact just written. `now` is when the replies count as sent (the fact's response time).
 */
export function createTurnWriter(
  store: KyselyStore,
  options: { audit: boolean; analytics?: AnalyticsStore; now?: () => Date },
): TurnWriter {
  const now = options.now ?? (() => new Date());
  return async (turn) => {
    const base = {
      event: turn.event,
      ...(turn.customerId === undefined ? {} : { customerId: turn.customerId }),
      replies: turn.replies,
      ...(options.audit ? { audit: turnAuditEntry(turn.audit) } : {}),
    };
    const facts = options.analytics?.factStatement(turn.fact, now());
    if (!facts) return { inserted: (await store.recordTurn(base)).inserted };
    try {
      const { inserted, row } = await store.recordTurn({ ...base, with: facts });
      countRecordedFact(turn.fact, recordedTurnOf(row));
      return { inserted };
    } catch (error) {
      // A measurement never stops an answer: a statement that fails for any reason but an outage
      // runs again without the facts (logged and counted as createFactsWriter does); an error of
      // the transcript's own part fails that one too, and the turn with it.
      if (isOutage(error)) throw error;
      errors.inc({ stage: 'analytics', code: 'analytics.write_failed' });
      logger.warn({ err: error, code: 'analytics.write_failed' }, 'turn facts not written');
      return { inserted: (await store.recordTurn(base)).inserted };
    }
  };
}
