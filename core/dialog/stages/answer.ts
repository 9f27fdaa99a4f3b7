import { dontKnow } from '../../rag';
import type { NamedStage } from '../compose';
import type { ActionRequest } from '../flows/actions';
import { sayText } from '../turn-context';
import type { StageDeps } from './deps';
import { runAction } from './flow-run';

/** No flow takes the message: answer it from the knowledge base (the `answer` action, core/dialog/answer.ts). */
export const answerStage = (deps: StageDeps): NamedStage => ({
  name: 'answer',
  run: async (turn) => {
    if (!turn.pre) return;
    const request: ActionRequest = {
      id: `answer:${turn.event.id}`,
      action: 'answer',
      params: { query: turn.trace.query ?? turn.pre.text },
      irreversible: false,
      flow: '',
      step: '',
    };
    const outcome = await runAction(turn, deps, request);
    if (outcome.ok) {
      turn.replies.push({ key: 'policy.text', params: { text: String(outcome.data.text ?? '') } });
      turn.progress.failures = 0;
      // Only unknown messages the knowledge base could not answer count towards a handoff.
      turn.progress.unknownStreak = 0;
    } else {
      sayText(turn, dontKnow(turn.language));
      turn.progress.failures++;
    }
    // A flow the customer left for this question waits below it: back to it now that it is answered.
    if (turn.progress.flow.stack.length) {
      const again = deps.dialog.runtime.resume(turn.progress.flow, turn.language);
      if (again.length) {
        turn.replies.push(...again);
        turn.trace.signals.push('resumed');
      }
    }
  },
});
