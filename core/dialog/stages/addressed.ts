import type { NamedStage } from '../compose';

/** Only messages and button taps are answered; group chatter not aimed at the bot is recorded, not answered. */
export const addressedStage: NamedStage = {
  name: 'addressed',
  run: async (turn, next) => {
    const { kind, addressedToBot } = turn.event;
    if (kind !== 'message' && kind !== 'action') return;
    if (addressedToBot === false) return;
    return next();
  },
};
