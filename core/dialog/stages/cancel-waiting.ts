import type { NamedStage } from '../compose';
import { dropTicket, setHandoff } from '../handoff';
import { anyPhrase, CANCEL_WORDS } from '../policy/lexicon';
import { isoNow } from '../turn-context';
import type { StageDeps } from './deps';

/**
 * Waiting for a person, the customer may change their mind: the bot takes the conversation back,
 * and the ticket gets the bot's note and is marked solved, so no agent picks up a case nobody waits on.
 */
export const cancelWhileWaitingStage = (deps: StageDeps): NamedStage => ({
  name: 'cancelWhileWaiting',
  run: async (turn, next) => {
    if (turn.state.handoff !== 'waiting' || !anyPhrase(turn.pre?.folded ?? '', CANCEL_WORDS)) return next();
    await deps.commands?.cancelHandoff(turn.event, turn.state);
    setHandoff(turn.state, 'bot', isoNow(turn));
    dropTicket(turn.state);
    turn.replies.push({ key: 'policy.handoffCancelled', params: {} });
  },
});
