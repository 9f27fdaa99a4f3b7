import type { NamedStage } from '../compose';
import { applyHelpdeskUpdate } from '../handoff';
import { isoNow } from '../turn-context';

/** An update from the helpdesk (an agent wrote, took the ticket, solved it) ends the turn here. */
export const helpdeskUpdateStage: NamedStage = {
  name: 'helpdeskUpdate',
  run: async (turn, next) => {
    if (turn.event.kind !== 'handoff') return next();
    const update = turn.event.handoff;
    if (!update) return;
    const helpdesk = turn.event.channelData?.helpdesk as { requestId?: unknown } | undefined;
    const reference = typeof helpdesk?.requestId === 'string' ? helpdesk.requestId : undefined;
    const outcome = applyHelpdeskUpdate(turn.state, update, isoNow(turn), reference);
    turn.source = outcome.source;
    if (outcome.reply) turn.replies.push(outcome.reply);
  },
};
