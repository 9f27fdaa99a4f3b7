import type { NamedStage } from '../compose';
import type { StageDeps } from './deps';
import { warnStale } from './flow-run';

/**
 * Frames of flows the configuration no longer defines (renamed, removed, a step renamed) are
 * dropped before anything reads the flow stack, so the message is answered as if they were gone.
 */
export const staleFlowsStage = (deps: StageDeps): NamedStage => ({
  name: 'staleFlows',
  run: async (turn, next) => {
    const { state, dropped } = deps.dialog.runtime.prune(turn.progress.flow);
    warnStale(dropped);
    turn.progress.flow = state;
    return next();
  },
});
