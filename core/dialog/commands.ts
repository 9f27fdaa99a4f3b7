import { logger } from '../log';
import type { CaseLine, CaseSummarizer } from '../tickets/case-summary';
import { buildTicketDraft, caseFactsOf, type DraftInput, type TicketReason } from '../tickets/draft';
import type { TicketService } from '../tickets/service';
import { type DialogState, HubError, type HubStore, type InboundEvent, type OutboundMessage } from '../types';
import { commandText } from './command-messages';
import type { CommandInput, CommandReply } from './command-types';
import { recordTicket, SLOT_TICKET, setHandoff, ticketOf } from './handoff';
import { OrderProof, type OrderProofDeps, verifiedIdentity } from './order-proof';

/**
 * The order and ticket side of the dialog, behind the flows' actions (core/dialog/hub-actions.ts):
 * an order's status after an ownership check, and tickets through the outbox. `handle` is the
 * deterministic shortcut for a message that carries an order id or asks for a person; it owns the
 * slots under "order." and "ticket.".
 */
export interface CommandDeps extends OrderProofDeps {
  tickets?: TicketService;
  /** The transcript is read for the ticket (the dialog history is capped). */
  store?: HubStore;
  /** Open a ticket when the ERP fails during an order question. */
  ticketOnErpFailure: boolean;
  /** Writes the ticket's case summary (by the model when one is configured); absent: by rules. */
  summarizer?: CaseSummarizer;
}

export type { CommandInput, CommandReply } from './command-types';
export {
  type CodeProof,
  requesterOf,
  SLOT_ATTEMPTS,
  SLOT_CODE,
  SLOT_PENDING_ORDER,
  SLOT_PROOF,
  SLOT_PROVEN,
  verifiedIdentity,
} from './order-proof';
export { SLOT_TICKET };

export class DialogCommands {
  private readonly proof: OrderProof;

  constructor(private readonly deps: CommandDeps) {
    this.proof = new OrderProof(deps, (input, error) => this.erpFailed(input, error));
  }

  /**
   * The customer answers the proof question of an order asked about earlier: a phone or e-mail
   * typed, "code" to get a one-time code, or the code itself.
   */
  resumeProof(input: CommandInput): Promise<CommandReply | undefined> {
    return this.proof.resume(input);
  }

  /** The `erp.lookupOrder` action: the status after the ownership check, or the question for proof. */
  lookupOrder(input: CommandInput, orderId: string): Promise<CommandReply> {
    if (!this.deps.orders) throw new HubError('erp.unconfigured', 'no ERP adapter is configured');
    return this.proof.lookup(input, orderId);
  }

  private async erpFailed(input: CommandInput, error: unknown): Promise<CommandReply> {
    const code = error instanceof HubError ? error.code : 'erp.unknown';
    logger.warn({ code }, 'ERP lookup failed');
    if (this.deps.ticketOnErpFailure && this.deps.tickets) {
      const reply = await this.handoff(input, 'erp_failure');
      if (reply) return reply;
    }
    return { text: commandText.erpDown()[input.language], outcome: 'unavailable' };
  }

  /**
   * Hand the conversation to a person: one ticket through the outbox, and the conversation waits
   * for an agent. A conversation already waiting is told its ticket instead of getting a second one.
   */
  async handoff(input: CommandInput, reason: TicketReason): Promise<CommandReply> {
    const { state, language } = input;
    const existing = state.slots[SLOT_TICKET];
    if (typeof existing === 'string' && state.handoff !== 'bot') {
      return { text: commandText.handoffAlready(existing)[language], outcome: 'ticket' };
    }
    try {
      const reference = await this.openTicket(input, {
        reason,
        intent: reason === 'erp_failure' ? 'order_status' : 'human_handoff',
      });
      setHandoff(state, 'waiting', input.now ?? new Date().toISOString());
      const text =
        reason === 'erp_failure'
          ? commandText.erpDownTicket(reference)
          : commandText.handoffCreated(reference);
      return { text: text[language], outcome: 'ticket' };
    } catch (error) {
      logger.warn(
        { code: error instanceof HubError ? error.code : 'ticket.enqueue' },
        'could not open a ticket',
      );
      return { text: commandText.handoffUnavailable()[language], outcome: 'unavailable' };
    }
  }

  /**
   * What the customer writes while a person owns the conversation, or one is awaited, goes onto the
   * conversation's ticket as a public comment (through the comment outbox, once per event).
   * Returns whether it was queued; throws when the outbox cannot be written, so the turn is retried.
   */
  async forwardToTicket(event: InboundEvent, state: DialogState): Promise<boolean> {
    const tickets = this.deps.tickets;
    const reference = ticketOf(state);
    if (!tickets || reference === undefined) return false;
    return tickets.addCustomerMessage(reference, event);
  }

  /**
   * The customer called off the handoff while waiting: the ticket gets the bot's note and is marked
   * solved (through the comment outbox, once per event). Returns whether it was queued; throws only
   * on an outage, so the turn waits for the database.
   */
  async cancelHandoff(event: InboundEvent, state: DialogState): Promise<boolean> {
    const tickets = this.deps.tickets;
    const reference = ticketOf(state);
    if (!tickets || reference === undefined) return false;
    return tickets.noteHandoffCancelled(reference, event);
  }

  /**
   * One ticket per inbound message, through the outbox: a redelivered turn finds the first request.
   * Returns the reference the customer is told; throws when the outbox cannot be written.
   */
  async openTicket(
    input: CommandInput,
    options: { reason: TicketReason; intent?: string; slots?: Record<string, unknown> },
  ): Promise<string> {
    const { state, language, event } = input;
    const tickets = this.deps.tickets;
    if (!tickets) throw new HubError('ticket.unconfigured', 'no helpdesk is configured');
    const transcript = await this.transcriptOf(input);
    const draftInput: DraftInput = {
      ref: event.ref,
      customer: {
        channel: event.ref.channel,
        tenant: event.ref.tenant,
        userId: event.sender.id,
        name: event.sender.name,
        ...verifiedIdentity(event),
      },
      transcript,
      intent: options.intent,
      slots: { ...state.slots, ...options.slots },
      locale: language,
      reason: options.reason,
      masker: tickets.piiMasker,
      flows: unfinishedFlows(state),
    };
    const summary = await this.deps.summarizer?.summarize(caseFactsOf(draftInput), {
      tenant: event.ref.tenant,
      conversation: state.conversationKey,
    });
    const draft = buildTicketDraft({ ...draftInput, caseSummary: summary?.text });
    const { request } = await tickets.open(draft, `${draft.conversationKey}|${event.id}`);
    recordTicket(state, { adapter: tickets.adapter, id: request.id });
    return request.id;
  }

  /** The transcript for the ticket, each bot reply with how it was made and the entries it cited. */
  private async transcriptOf(input: CommandInput): Promise<CaseLine[]> {
    const { store } = this.deps;
    const key = input.state.conversationKey;
    if (store) {
      const entries = await store.transcript(key, { limit: 100 });
      // The turn's own message is stored with its replies, after this: it ends the lines here.
      const current: CaseLine[] = entries.some((e) => e.id === input.event.id)
        ? []
        : [{ role: 'customer', text: input.text, at: input.event.receivedAt }];
      if (entries.length > 0) {
        const stored = entries.map((e): CaseLine => {
          if (e.direction === 'in') return { role: 'customer', text: e.text, at: e.at };
          const message = e.payload as OutboundMessage;
          const cited = message.citations?.map((c) => c.title).filter(Boolean);
          return {
            role: message.source === 'agent' ? 'agent' : 'bot',
            text: e.text,
            at: e.at,
            ...(message.source ? { source: message.source } : {}),
            ...(cited?.length ? { cited } : {}),
          };
        });
        return [...stored, ...current];
      }
    }
    const lines: CaseLine[] = input.state.history.map((t) => ({
      role: t.role === 'user' ? 'customer' : 'bot',
      text: t.text,
      at: t.at,
    }));
    return [...lines, { role: 'customer', text: input.text, at: input.event.receivedAt }];
  }
}

/** Flows the bot was in the middle of; the handoff flow and the answer's follow-up question are not "tried". */
function unfinishedFlows(state: DialogState): Array<{ flow: string; step: string }> {
  return (state.dialog?.flow.stack ?? [])
    .filter((frame) => frame.flow !== 'handoff' && frame.flow !== 'faq')
    .map(({ flow, step }) => ({ flow, step }));
}
