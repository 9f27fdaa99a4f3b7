import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { parseConfig } from '../../core/config/load';
import { DialogEngine, emptyState, type TurnResult } from '../../core/dialog/engine';
import { ActionRegistry } from '../../core/dialog/flows/actions';
import type { Decision } from '../../core/dialog/policy/policy';
import { loadDialogKit } from '../../core/dialog/setup';
import { createKnowledge, EmbeddedRetriever, type Knowledge } from '../../core/rag';
import type { DialogState, HandoffUpdate, InboundEvent } from '../../core/types';

/**
 * Runs scripted conversations through the whole DialogEngine — preprocessing, follow-up rewriting,
 * intent tiers, policy, flow runtime, helpdesk updates, rendering — with the flows' actions backed by
 * fixture data instead of the ERP and helpdesk adapters (those have their own suites).
 */

export interface Fixtures {
  orders?: Record<string, { status: { zh: string; en: string }; detail?: string }>;
  /** Knowledge for the `answer` action: a keyword in the query → the answer in each language. */
  knowledge?: { keywords: string[]; zh: string; en: string }[];
  failing?: string[];
}

export interface ConversationScript {
  name: string;
  start?: string;
  fixtures?: Fixtures;
  /**
   * Answer from the shipped demo knowledge base (knowledge/, the embedded retriever, extractive
   * answers) instead of the fixture knowledge: what a customer gets on the embedded default.
   */
  demoKnowledge?: boolean;
  /** Hub config overrides (e.g. `dialog.hours`). */
  config?: Record<string, unknown>;
  turns: {
    /** What the customer writes; or `helpdesk`: an update from the helpdesk (agent reply, solved...). */
    user?: string;
    /** A button tap or card submit instead (an action event, as the connectors normalize it). */
    tap?: NonNullable<InboundEvent['action']>;
    /** The channel's locale on the event (Teams, web chat send one). */
    locale?: string;
    helpdesk?: Pick<HandoffUpdate, 'change' | 'text' | 'agentName'>;
    /** Minutes after the previous turn (default 1). */
    after?: number;
    /** The test sets the handoff state before this turn (an agent takes or releases the conversation). */
    handoffBefore?: DialogState['handoff'];
    expect: {
      intent?: string;
      decision?: Decision['type'];
      reason?: string;
      /** Each rendered reply contains the corresponding string (same count). */
      replies?: string[];
      replyKeys?: string[];
      /** Action names run this turn, in order; `params` checked by subset when given. */
      actions?: (string | { action: string; params?: Record<string, string> })[];
      /** Flow names on the stack after the turn, bottom first. */
      stack?: string[];
      slots?: Record<string, string>;
      handoff?: DialogState['handoff'];
      signals?: string[];
      query?: string;
      /** The knowledge passage retrieved first (demo knowledge). */
      retrieved?: string;
      /** No rendered reply contains any of these. */
      notReplies?: string[];
      /** The language the turn answered in. */
      language?: 'zh' | 'en';
      /** How the reply was produced (flow, llm, extractive, agent, system). */
      source?: string;
    };
  }[];
}

let demo: Promise<Knowledge> | undefined;

/** The shipped knowledge/ folder in the embedded index, loaded once per test file. */
export function demoKnowledge(): Promise<Knowledge> {
  demo ??= createKnowledge(parseConfig({ knowledge: { storeDir: '/nonexistent' } }, {}), { watchMs: 0 });
  return demo;
}

export function readScript(path: string): ConversationScript {
  return parseYaml(readFileSync(path, 'utf8')) as ConversationScript;
}

/** One conversation: the engine, its clock and the state the turn handler would persist. */
export class ScriptedConversation {
  state: DialogState = emptyState('test:default:script');
  clock: number;
  private events = 0;
  private tickets = 1000;

  private constructor(
    readonly engine: DialogEngine,
    start: number,
  ) {
    this.clock = start;
  }

  static async create(fixtures: Fixtures, script: ConversationScript): Promise<ScriptedConversation> {
    const config = parseConfig({ database: { dataDir: 'memory://' }, ...script.config }, {});
    const registry = new ActionRegistry();
    const failing = new Set(fixtures.failing ?? []);
    const fail = (name: string) => failing.has(name);
    let conversation: ScriptedConversation | undefined;
    const nextTicket = () => {
      if (!conversation) throw new Error('conversation not ready');
      return `T-${++conversation.tickets}`;
    };
    registry.register('erp.lookupOrder', async (params, ctx) => {
      const order = fixtures.orders?.[params.orderId ?? ''];
      if (fail('erp.lookupOrder') || !order) return { ok: false, error: 'order not found' };
      const status = order.status[ctx.language];
      const text =
        ctx.language === 'zh'
          ? `订单 ${params.orderId} 的状态：${status}。${order.detail ?? ''}`
          : `Order ${params.orderId}: ${status}. ${order.detail ?? ''}`;
      return { ok: true, data: { outcome: 'shown', text: text.trim() } };
    });
    registry.register('ticket.create', async () => {
      if (fail('ticket.create')) return { ok: false, error: 'helpdesk unavailable', retryable: true };
      return { ok: true, data: { id: nextTicket() } };
    });
    registry.register('handoff', async () =>
      fail('handoff') ? { ok: false, error: 'no agents' } : { ok: true, data: { reference: nextTicket() } },
    );
    if (!script.demoKnowledge)
      registry.register('answer', async (params, ctx) => {
        const query = (params.query ?? '').toLowerCase();
        const hit = fixtures.knowledge?.find((k) => k.keywords.some((w) => query.includes(w.toLowerCase())));
        return hit
          ? { ok: true, data: { text: hit[ctx.language], source: 'extractive' } }
          : { ok: false, error: 'nothing relevant' };
      });
    const dialog = await loadDialogKit(config, { actions: registry });
    const start = Date.parse(script.start ?? '2026-11-02T10:00:00+08:00');
    const engine = new DialogEngine({
      config,
      retriever: script.demoKnowledge ? (await demoKnowledge()).retriever : new EmbeddedRetriever(),
      dialog,
      now: () => new Date(conversation?.clock ?? start),
    });
    conversation = new ScriptedConversation(engine, start);
    return conversation;
  }

  async turn(input: ConversationScript['turns'][number]): Promise<TurnResult> {
    const at = new Date(this.clock).toISOString();
    const ref = { channel: 'test', tenant: 'default', conversation: 'script' };
    const id = `script:${++this.events}`;
    const event: InboundEvent = input.helpdesk
      ? {
          id,
          kind: 'handoff',
          ref,
          sender: { id: 'agent:1', name: input.helpdesk.agentName },
          receivedAt: at,
          handoff: { adapter: 'demo', ticketId: '1', ...input.helpdesk },
        }
      : input.tap
        ? { id, kind: 'action', ref, sender: { id: 'customer' }, receivedAt: at, action: input.tap }
        : { id, kind: 'message', ref, sender: { id: 'customer' }, receivedAt: at, text: String(input.user) };
    if (input.locale) event.locale = input.locale;
    const result = await this.engine.respond(event, this.state);
    this.state = result.state;
    return result;
  }
}
