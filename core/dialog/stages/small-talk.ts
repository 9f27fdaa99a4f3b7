import type { NamedStage } from '../compose';
import { say } from '../messages';
import { yesOrNo } from '../policy/lexicon';
import { smallTalkOf } from '../small-talk';
import { sayText } from '../turn-context';
import type { StageDeps } from './deps';

/**
 * A greeting, a thanks or a goodbye, and nothing else (core/dialog/small-talk.ts), is answered in
 * kind, before rewriting, intent recognition and retrieval. A flow that waits keeps waiting and asks
 * its question again; a "did that help?" is left behind, as for any new turn ("ok thanks" answers it
 * as a yes, so the flow takes that). While a person is awaited or in charge, small talk goes on as usual.
 */
export const smallTalkStage = (deps: StageDeps): NamedStage => ({
  name: 'smallTalk',
  run: async (turn, next) => {
    const { pre, state, progress } = turn;
    if (!pre || state.handoff !== 'bot' || turn.choice !== undefined) return next();
    const kind = smallTalkOf(pre.folded);
    if (!kind) return next();
    const { runtime } = deps.dialog;
    if (runtime.awaitsYesOrNo(progress.flow) && yesOrNo(pre.folded)) return next();
    turn.trace.intent = { name: kind, confidence: 1, tier: 'rules', candidates: [] };
    turn.source = 'system';
    sayText(turn, say(kind, turn.language));
    const moved = runtime.moveOn(progress.flow);
    if (moved.dropped) {
      progress.flow = moved.state;
      turn.trace.signals.push('completed');
    }
    if (kind === 'goodbye' || !progress.flow.stack.length) return;
    // Still waiting for an answer: ask again (after "did that help?" was left, the flow below it).
    const again = moved.dropped
      ? runtime.resume(progress.flow, turn.language)
      : runtime.reprompt(progress.flow, turn.language);
    turn.replies.push(...again);
  },
});
