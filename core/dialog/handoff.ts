import type { DialogProgress, DialogState, HandoffUpdate } from '../types';
import type { Reply } from './flows/messages';
import { emptyFlowState } from './flows/runtime';
import { noteHandoff } from './model-outcomes';

/**
 * The one writer of who owns a conversation — `state.handoff`, and the dialog's `handoffAt`,
 * `agentAt` and `ticket` — so that the engine's stages and the hub's commands keep the same
 * bookkeeping. Everything here changes the state in place (the turn's next state).
 */

export type HandoffOwner = DialogState['handoff'];

/** The slot that carries the customer-facing ticket reference (flows print it as `{ticket.reference}`). */
export const SLOT_TICKET = 'ticket.reference';

export const emptyProgress = (): DialogProgress => ({
  flow: emptyFlowState(),
  failures: 0,
  unknownStreak: 0,
});

/** The dialog's own bookkeeping, created on first use (a state saved before the engine ran has none). */
export function progressOf(state: DialogState): DialogProgress {
  state.dialog ??= emptyProgress();
  return state.dialog;
}

export function setHandoff(state: DialogState, to: HandoffOwner, at: string): void {
  const progress = progressOf(state);
  if (state.handoff === 'bot' && to !== 'bot') noteHandoff(progress);
  state.handoff = to;
  progress.handoffAt = at;
  if (to === 'bot') progress.agentAt = undefined;
  // The failures that led to a person are dealt with: back with the bot, the count starts again.
  progress.failures = 0;
  progress.unknownStreak = 0;
}

/** The ticket a person answers through; what the customer writes meanwhile goes onto it. */
export function recordTicket(state: DialogState, ticket: { adapter: string; id: string }): void {
  state.slots = { ...state.slots, [SLOT_TICKET]: ticket.id };
  progressOf(state).ticket = ticket;
}

/** The ticket is done with (solved by an agent, or the customer called the handoff off). */
export function dropTicket(state: DialogState): void {
  const { [SLOT_TICKET]: _done, ...slots } = state.slots;
  state.slots = slots;
  progressOf(state).ticket = undefined;
}

export function ticketOf(state: DialogState): string | undefined {
  const reference = state.dialog?.ticket?.id ?? state.slots[SLOT_TICKET];
  return typeof reference === 'string' ? reference : undefined;
}

/** What the helpdesk update changed for the customer: a reply to send, and who it comes from. */
export interface HelpdeskOutcome {
  reply?: Reply;
  source: 'agent' | 'system';
}

/**
 * An agent wrote, took the ticket, or solved/closed it (published by core/handoff). `reference` is
 * the hub's reference of the ticket the update is about, when known: the end of an older ticket (one
 * the customer called off, then asked for a person again) leaves the current one alone.
 */
export function applyHelpdeskUpdate(
  state: DialogState,
  update: HandoffUpdate,
  at: string,
  reference?: string,
): HelpdeskOutcome {
  const progress = progressOf(state);
  const current = ticketOf(state);
  const older = reference !== undefined && current !== undefined && reference !== current;
  if (older && (update.change === 'solved' || update.change === 'closed')) return { source: 'agent' };
  switch (update.change) {
    case 'reply': {
      const text = update.text?.trim();
      if (!text) return { source: 'agent' };
      if (state.handoff !== 'human') setHandoff(state, 'human', at);
      progress.agentAt = at;
      return { source: 'agent', reply: { key: 'policy.text', params: { text } } };
    }
    case 'assigned':
      if (state.handoff === 'human') return { source: 'agent' };
      setHandoff(state, 'human', at);
      progress.agentAt = at;
      return {
        source: 'agent',
        reply: {
          key: 'policy.agentJoined',
          params: { agent: update.agentName ? ` ${update.agentName}` : '' },
        },
      };
    case 'solved':
    case 'closed': {
      if (state.handoff === 'bot') return { source: 'agent' };
      setHandoff(state, 'bot', at);
      // What the bot was doing before the person took over is over.
      progress.flow = emptyFlowState();
      dropTicket(state);
      return { source: 'system', reply: { key: 'policy.backToBot', params: {} } };
    }
  }
}

/** Return rule: a person took over but no agent wrote for `afterMinutes`; true when it returned. */
export function returnIfIdle(state: DialogState, now: Date, afterMinutes: number): boolean {
  if (state.handoff !== 'human') return false;
  const progress = progressOf(state);
  const since = Date.parse(progress.agentAt ?? progress.handoffAt ?? state.updatedAt);
  if (!Number.isFinite(since) || now.getTime() - since < afterMinutes * 60_000) return false;
  setHandoff(state, 'bot', now.toISOString());
  return true;
}
