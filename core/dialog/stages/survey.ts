import { csatRulesFor } from '../../config/analytics-schema';
import type { NamedStage } from '../compose';
import { asksNow, readRating, surveyQuestion, surveyStateAt } from '../survey';
import { isoNow, type TurnContext } from '../turn-context';
import type { StageDeps } from './deps';

/**
 * The satisfaction survey (core/dialog/survey.ts), around the rest of the turn: a customer message
 * that answers a pending survey is taken here and thanked; any other message drops the survey and
 * goes on. After the turn, the survey is asked when the tenant's `analytics.csat` says this is the
 * moment (a resolution, or the helpdesk solving the ticket) and it was not asked in this
 * conversation yet: its question is the last reply, so its choices render as buttons.
 */
export const surveyStage = (deps: StageDeps): NamedStage => ({
  name: 'survey',
  run: async (turn, next) => {
    const { event, progress } = turn;
    const rules = csatRulesFor(deps.config.analytics, event.ref.tenant);
    // Off for this tenant and nothing pending: the state carries no survey bookkeeping.
    if (!rules.enabled && !progress.survey?.pending) return next();
    const fromCustomer = event.kind === 'message' || event.kind === 'action';
    const survey = surveyStateAt(progress, turn.now, deps.config.analytics.abandonAfterMinutes);
    if (fromCustomer) survey.lastAt = isoNow(turn);
    const pending = survey.pending;
    if (pending && fromCustomer) {
      survey.pending = undefined;
      const score =
        turn.state.handoff === 'bot' ? readRating(event, pending.scale, turn.language) : undefined;
      if (score !== undefined) {
        turn.trace.survey = { answered: { scale: pending.scale, score } };
        turn.source = 'system';
        turn.replies.push({ key: 'survey.thanks', params: {} });
        return;
      }
    }
    await next();
    if (turn.trace.unanswered || turn.trace.signals.includes('unhelpful')) survey.unresolved = true;
    if (survey.askedAt || !asksNow(rules, momentOf(turn, deps, survey.unresolved === true))) return;
    turn.replies.push(surveyQuestion(rules.scale));
    survey.askedAt = isoNow(turn);
    survey.pending = { scale: rules.scale };
    turn.trace.survey = { ...turn.trace.survey, asked: rules.scale };
  },
});

function momentOf(turn: TurnContext, deps: StageDeps, unresolved: boolean) {
  const { event, state, previous, progress, trace } = turn;
  const withBot = state.handoff === 'bot';
  const waits = deps.dialog.runtime.awaiting(progress.flow) !== undefined;
  const ended = trace.signals.includes('completed') || trace.signals.includes('helpful');
  const handedOff = trace.signals.includes('handoff') || trace.decision?.type === 'handoff';
  const change = event.kind === 'handoff' ? event.handoff?.change : undefined;
  return {
    resolved: withBot && !waits && ended && !handedOff && !unresolved,
    handoffSolved: withBot && previous.handoff !== 'bot' && (change === 'solved' || change === 'closed'),
  };
}
