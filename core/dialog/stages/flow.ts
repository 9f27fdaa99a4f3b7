import type { NamedStage } from '../compose';
import type { StageDeps } from './deps';
import { messageInput, runFlow, warnStale } from './flow-run';

/**
 * The flow in progress, or the one the intent starts, takes the message. A flow may let it go (a
 * new question after "did that help?"): then the next stage answers it.
 */
export const flowStage = (deps: StageDeps): NamedStage => ({
  name: 'flow',
  run: async (turn, next) => {
    if (turn.trace.decision?.type !== 'flow') return next();
    const result = deps.dialog.runtime.advance(turn.progress.flow, messageInput(turn), turn.language);
    if (result.handled) return runFlow(turn, deps, result);
    warnStale(result.dropped);
    turn.progress.flow = result.state;
    // A question the customer moved on from was dropped (and a cancelled one said so).
    turn.replies.push(...result.replies);
    turn.trace.signals.push(...result.signals);
    return next();
  },
});
