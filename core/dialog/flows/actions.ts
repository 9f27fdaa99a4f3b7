import type { DialogState, InboundEvent } from '../../types';

/**
 * Flows name actions; the adapters implement them. The runtime only emits requests
 * ({@link ActionRequest}); whoever drives it runs them through an {@link ActionRegistry} and feeds
 * the outcome back as an `action_result` input.
 */

export interface ActionSpec {
  name: string;
  /**
   * Creates something outside the hub that cannot be taken back (a ticket, a return order). Such an
   * action runs only right after the customer said yes to a confirm step (checked when flows load,
   * and again when they run), and never at the LLM's request.
   */
  irreversible: boolean;
  description: string;
}

export interface ActionContext {
  conversationKey: string;
  language: 'zh' | 'en';
  tenant?: string;
  signal?: AbortSignal;
  /** The message being answered; its id makes a redelivered turn's action idempotent. */
  event?: InboundEvent;
  /** The conversation's next state: an action may change its slots and handoff. */
  state?: DialogState;
  /** The turn's clock (ISO-8601), for what an action records in the state. */
  now?: string;
  /** The current flow's slots (order_id, phone, ...), for actions that record them (tickets). */
  slots?: Record<string, string>;
  /** The recognized intent of the turn, and how sure the recognizer was (routes the LLM request). */
  intent?: string;
  confidence?: number;
  /** The reply text so far, for an action that writes it and can stream it (the answer action). */
  onText?: (textSoFar: string) => void;
}

export type ActionOutcome =
  | { ok: true; data: Record<string, unknown> }
  /** `data` on a failure is only for the record (the audit trail), never read by the flow. */
  | { ok: false; error: string; retryable?: boolean; data?: Record<string, unknown> };

export type ActionHandler = (
  params: Record<string, string>,
  context: ActionContext,
) => Promise<ActionOutcome>;

export interface ActionRequest {
  /** Unique within the conversation: `<flow>:<step>:<n>`; also the idempotency key for the adapter. */
  id: string;
  action: string;
  params: Record<string, string>;
  irreversible: boolean;
  flow: string;
  step: string;
}

/** The actions flows may name. Implementations come from adapters/erp and adapters/ticketing. */
export const BUILT_IN_ACTIONS: ActionSpec[] = [
  {
    name: 'erp.lookupOrder',
    irreversible: false,
    description: 'Look an order up in the ERP: status, carrier, tracking.',
  },
  {
    name: 'ticket.create',
    irreversible: true,
    description: 'Create a helpdesk ticket (complaint, return, exchange).',
  },
  {
    name: 'handoff',
    irreversible: false,
    description: 'Put the conversation in the queue for a human agent.',
  },
  {
    name: 'answer',
    irreversible: false,
    description: 'Answer a question from the knowledge base (retrieval).',
  },
];

export class ActionRegistry {
  private readonly specs = new Map<string, ActionSpec>();
  private readonly handlers = new Map<string, ActionHandler>();

  constructor(specs: ActionSpec[] = BUILT_IN_ACTIONS) {
    for (const spec of specs) this.specs.set(spec.name, spec);
  }

  /** Declare (if new) and implement an action. */
  register(name: string, handler: ActionHandler, spec?: Omit<ActionSpec, 'name'>): this {
    if (spec) this.specs.set(name, { name, ...spec });
    if (!this.specs.has(name))
      throw new Error(`action "${name}" has no spec: pass { irreversible, description }`);
    this.handlers.set(name, handler);
    return this;
  }

  has(name: string): boolean {
    return this.handlers.has(name);
  }

  spec(name: string): ActionSpec | undefined {
    return this.specs.get(name);
  }

  allSpecs(): ActionSpec[] {
    return [...this.specs.values()];
  }

  /** Runs a request; an unimplemented action or a thrown error is a failed outcome, not an exception. */
  async run(request: ActionRequest, context: ActionContext): Promise<ActionOutcome> {
    const handler = this.handlers.get(request.action);
    if (!handler) return { ok: false, error: `action ${request.action} is not implemented here` };
    try {
      return await handler(request.params, context);
    } catch (error) {
      return { ok: false, error: (error as Error).message, retryable: true };
    }
  }
}
