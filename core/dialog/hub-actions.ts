import type { TicketReason } from '../tickets/draft';
import { HubError } from '../types';
import type { CommandInput, DialogCommands } from './commands';
import type { ActionContext, ActionOutcome, ActionRegistry } from './flows/actions';

const TICKET_REASONS = new Set<TicketReason>(['complaint', 'return', 'exchange']);
/** The policy's (and flows') handoff reasons as the ticket states them; anything else is the customer's request. */
const HANDOFF_REASONS: Record<string, TicketReason> = {
  anger: 'anger',
  repeated_failure: 'repeated_failure',
  low_confidence: 'low_confidence',
  unanswered: 'unanswered',
  erp_failure: 'erp_failure',
};

/**
 * The flows' actions backed by the hub's adapters: `erp.lookupOrder` (the ERP behind an ownership
 * check), `ticket.create` (a ticket through the outbox) and `handoff` (a ticket, and the
 * conversation waits for a person). `answer` is the engine's own (retrieval and generation).
 */
export function registerHubActions(registry: ActionRegistry, commands: DialogCommands): ActionRegistry {
  registry.register('erp.lookupOrder', async (params, ctx) => {
    const orderId = params.orderId?.trim();
    if (!orderId) return { ok: false, error: 'no order id' };
    const reply = await commands.lookupOrder(commandInput(ctx), orderId);
    // The flow branches on the outcome; the text (status, or the proof question) is said as it is.
    return { ok: true, data: { outcome: reply.outcome ?? 'shown', text: reply.text } };
  });

  registry.register('ticket.create', async (params, ctx) => {
    const input = commandInput(ctx);
    const kind = params.type as TicketReason;
    const reason = TICKET_REASONS.has(kind) ? kind : 'complaint';
    return ticketOutcome(() =>
      commands.openTicket(input, {
        reason,
        intent: ctx.intent ?? reason,
        slots: { ...ctx.slots, ...params },
      }),
    );
  });

  registry.register('handoff', async (params, ctx) => {
    const input = commandInput(ctx);
    const reply = await commands.handoff(input, HANDOFF_REASONS[params.reason ?? ''] ?? 'customer_request');
    if (reply.outcome !== 'ticket') return { ok: false, error: 'helpdesk unavailable', retryable: true };
    return { ok: true, data: { text: reply.text, reference: String(input.state.slots['ticket.reference']) } };
  });
  return registry;
}

function commandInput(ctx: ActionContext): CommandInput {
  if (!ctx.event || !ctx.state) {
    throw new HubError('dialog.action_context', 'hub actions need the event and the state of the turn');
  }
  return {
    event: ctx.event,
    state: ctx.state,
    language: ctx.language,
    text: ctx.event.text ?? '',
    now: ctx.now,
  };
}

async function ticketOutcome(open: () => Promise<string>): Promise<ActionOutcome> {
  try {
    return { ok: true, data: { id: await open() } };
  } catch (error) {
    const code = error instanceof HubError ? error.code : 'ticket.enqueue';
    return { ok: false, error: code, retryable: true };
  }
}
