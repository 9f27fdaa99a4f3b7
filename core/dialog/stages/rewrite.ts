import type { NamedStage } from '../compose';
import { rewriteFollowUp } from '../context/rewrite';
import type { StageDeps } from './deps';

/** A follow-up ("and the second one?") rewritten to stand alone, for intent and retrieval; only the bot's turns. */
export const rewriteStage = (deps: StageDeps): NamedStage => ({
  name: 'rewrite',
  run: async (turn, next) => {
    const text = turn.pre?.text ?? '';
    const { query } =
      turn.state.handoff === 'bot'
        ? await rewriteFollowUp(
            text,
            turn.previous.history,
            turn.language,
            deps.llm,
            undefined,
            turn.state.conversationKey,
          )
        : { query: text };
    turn.trace.query = query;
    return next();
  },
});
