import { logger } from '../log';
import { errors } from '../metrics';
import { isOutage } from '../resilience/outage';
import type { TurnFact } from './facts';
import {
  answerFeedback,
  conversationHandoffs,
  conversationsStarted,
  csatRatings,
  intentConfidence,
  unansweredTurns,
} from './metrics';
import type { AnalyticsStore, RecordedTurn } from './store';

/**
 * The turn handler's `facts` hook: write the turn's facts, then move the counters once (a
 * redelivered turn writes nothing and counts nothing). A failed write is logged and counted
 * (`hub_errors_total{stage="analytics"}`) and the turn goes on: a measurement never stops an
 * answer. Only an outage fails the turn, which then waits and is redelivered (and written then).
 */
export function createFactsWriter(
  analytics: AnalyticsStore,
  now: () => Date = () => new Date(),
): (fact: TurnFact) => Promise<void> {
  return async (fact) => {
    let recorded: Awaited<ReturnType<AnalyticsStore['record']>>;
    try {
      recorded = await analytics.record(fact, now());
    } catch (error) {
      if (isOutage(error)) throw error;
      errors.inc({ stage: 'analytics', code: 'analytics.write_failed' });
      logger.warn({ err: error, code: 'analytics.write_failed' }, 'turn facts not written');
      return;
    }
    countRecordedFact(fact, recorded);
  };
}

/** Moves the counters once for a fact just written (`recorded` undefined: nothing was, nothing counts). */
export function countRecordedFact(fact: TurnFact, recorded: RecordedTurn | undefined): void {
  if (!recorded) return;
  const { tenant, channel } = fact;
  if (recorded.startedConversation) conversationsStarted.inc({ tenant, channel });
  if (fact.handoff) conversationHandoffs.inc({ tenant, channel });
  if (fact.unanswered) unansweredTurns.inc({ tenant, channel });
  if (fact.csat) csatRatings.inc({ tenant, score: String(fact.csat.score) });
  if (fact.feedback) answerFeedback.inc({ tenant, feedback: fact.feedback });
  if (fact.customer && fact.confidence !== undefined) intentConfidence.observe({ tenant }, fact.confidence);
}
