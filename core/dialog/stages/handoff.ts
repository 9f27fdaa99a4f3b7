import type { NamedStage } from '../compose';
import { SLOT_TICKET } from '../handoff';
import type { StageDeps } from './deps';
import { forwardToTicket, handOff, messageInput, sayIfOutOfHours } from './flow-run';

/**
 * The policy's decisions about a person: while one owns the conversation the bot is silent, while
 * one is awaited it says so, and a handoff starts the handoff flow. What the customer writes
 * meanwhile goes onto the ticket.
 */
export const handoffStage = (deps: StageDeps): NamedStage => ({
  name: 'handoff',
  run: async (turn, next) => {
    const decision = turn.trace.decision;
    switch (decision?.type) {
      case 'silent':
        await forwardToTicket(turn, deps);
        return;
      case 'wait': {
        await forwardToTicket(turn, deps);
        const reference = turn.state.slots[SLOT_TICKET];
        turn.replies.push(
          typeof reference === 'string'
            ? { key: 'policy.waitingTicket', params: { reference } }
            : { key: 'policy.waiting', params: {} },
        );
        sayIfOutOfHours(turn, deps);
        return;
      }
      case 'handoff':
        await handOff(turn, deps, messageInput(turn), decision.reason);
        return;
      default:
        return next();
    }
  },
});
