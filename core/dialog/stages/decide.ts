import type { NamedStage } from '../compose';
import { decide } from '../policy/policy';
import type { StageDeps } from './deps';

/** The policy's next move: silent, wait, hand off, flow or answer (core/dialog/policy/policy.ts). */
export const decideStage = (deps: StageDeps): NamedStage => ({
  name: 'decide',
  run: async (turn, next) => {
    const { state, progress, pre } = turn;
    const intent = turn.trace.intent;
    if (!pre || !intent) return next();
    turn.trace.decision = decide(
      {
        handoff: state.handoff,
        raw: turn.raw ?? pre.text,
        folded: pre.folded,
        intent,
        flowActive: progress.flow.stack.length > 0,
        intentStartsFlow: deps.dialog.runtime.flowFor(intent.name) !== undefined,
        consecutiveFailures: progress.failures,
        unknownStreak: progress.unknownStreak,
      },
      deps.dialog.config.policy,
    );
    if (state.handoff === 'bot')
      progress.unknownStreak = intent.name === 'unknown' ? progress.unknownStreak + 1 : 0;
    return next();
  },
});
