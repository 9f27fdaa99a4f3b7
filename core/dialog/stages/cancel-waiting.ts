import type { NamedStage } from '../compose';
import { setHandoff } from '../handoff';
import { anyPhrase, CANCEL_WORDS } from '../policy/lexicon';
import { isoNow } from '../turn-context';

/** Waiting for a person, the customer may change their mind. */
export const cancelWhileWaitingStage: NamedStage = {
  name: 'cancelWhileWaiting',
  run: async (turn, next) => {
    if (turn.state.handoff !== 'waiting' || !anyPhrase(turn.pre?.folded ?? '', CANCEL_WORDS)) return next();
    setHandoff(turn.state, 'bot', isoNow(turn));
    turn.replies.push({ key: 'policy.handoffCancelled', params: {} });
  },
};
