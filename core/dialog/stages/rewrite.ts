import type { NamedStage } from '../compose';
import { rewriteFollowUp } from '../context/rewrite';
import { afterYesOrNo } from '../policy/lexicon';
import { cleanText } from '../preprocess';
import type { StageDeps } from './deps';

/**
 * A follow-up ("and the second one?") rewritten to stand alone, for intent and retrieval; only the
 * bot's turns. A yes or no before a message of its own ("是的 我想问下能用支付宝吗") is left out.
 */
export const rewriteStage = (deps: StageDeps): NamedStage => ({
  name: 'rewrite',
  run: async (turn, next) => {
    // Read on the message as written: cleaning joins "是的 我想…" into one run of Han characters.
    const cleaned = turn.pre?.text ?? '';
    const raw = turn.raw ?? cleaned;
    const rest = afterYesOrNo(raw);
    const text = rest === raw ? cleaned : cleanText(rest);
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
