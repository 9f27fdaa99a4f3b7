import type { NamedStage } from '../compose';
import { returnIfIdle } from '../handoff';
import type { StageDeps } from './deps';

/** A person took over but no agent wrote for `dialog.returnToBotAfterMinutes`: the bot answers again. */
export const idleReturnStage = (deps: StageDeps): NamedStage => ({
  name: 'idleReturn',
  run: async (turn, next) => {
    returnIfIdle(turn.state, turn.now, deps.config.dialog.returnToBotAfterMinutes);
    return next();
  },
});
