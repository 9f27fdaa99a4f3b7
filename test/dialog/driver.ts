import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { type DialogConfig, loadDialogConfig } from '../../core/dialog/config';
import { rewriteByRules } from '../../core/dialog/context/rewrite';
import { ActionRegistry, type ActionRequest } from '../../core/dialog/flows/actions';
import { type FlowSet, loadFlows } from '../../core/dialog/flows/load';
import { type Reply, renderReply } from '../../core/dialog/flows/messages';
import {
  emptyFlowState,
  FlowRuntime,
  type FlowSignal,
  type FlowState,
} from '../../core/dialog/flows/runtime';
import { IntentRecognizer, type IntentResult } from '../../core/dialog/intent/recognizer';
import type { Language } from '../../core/dialog/language';
import { type Decision, decide } from '../../core/dialog/policy/policy';
import { failedTooOften } from '../../core/dialog/policy/rules';
import { foldForMatching, preprocess } from '../../core/dialog/preprocess';
import type { Turn } from '../../core/types/ports';

/**
 * Composes the dialog parts the way the engine will: preprocess → intent → policy → flow runtime
 * (actions run through a registry, outcomes fed back) → replies rendered in the customer's language.
 * The actions are in-test implementations over fixture data; the adapters provide the real ones.
 */

export interface Fixtures {
  orders?: Record<string, { status: { zh: string; en: string }; detail?: string }>;
  /** Knowledge for the `answer` action: a keyword in the query → the answer in each language. */
  knowledge?: { keywords: string[]; zh: string; en: string }[];
  failing?: string[];
}

export interface Session {
  flow: FlowState;
  handoff: 'bot' | 'waiting' | 'human';
  failures: number;
  unknownStreak: number;
  history: Turn[];
  language?: Language;
}

export interface TurnOutcome {
  intent: IntentResult;
  decision: Decision;
  replies: string[];
  replyKeys: string[];
  actions: ActionRequest[];
  signals: FlowSignal[];
  /** The query sent to the answer action, after follow-up rewriting. */
  query?: string;
}

const TICKET_ACTION_IRREVERSIBLE = true;

export class DialogDriver {
  readonly actionsRun: ActionRequest[] = [];
  private tickets = 1000;
  private constructor(
    readonly config: DialogConfig,
    readonly flows: FlowSet,
    readonly recognizer: IntentRecognizer,
    readonly registry: ActionRegistry,
    readonly runtime: FlowRuntime,
  ) {}

  static async create(fixtures: Fixtures = {}): Promise<DialogDriver> {
    const config = await loadDialogConfig('config/dialog.yaml');
    const flows = await loadFlows(config.flowsDir);
    const registry = new ActionRegistry();
    const driver = new DialogDriver(
      config,
      flows,
      IntentRecognizer.create(config.intents),
      registry,
      new FlowRuntime(flows),
    );
    const failing = new Set(fixtures.failing ?? []);
    const fail = (name: string) => failing.has(name);
    registry.register('erp.lookupOrder', async (params, ctx) => {
      const order = fixtures.orders?.[params.orderId ?? ''];
      if (fail('erp.lookupOrder') || !order) return { ok: false, error: 'order not found' };
      return { ok: true, data: { status: order.status[ctx.language], detail: order.detail ?? '' } };
    });
    registry.register('ticket.create', async () => {
      if (fail('ticket.create')) return { ok: false, error: 'helpdesk unavailable', retryable: true };
      return { ok: true, data: { id: `T-${++driver.tickets}` } };
    });
    registry.register('handoff', async () =>
      fail('handoff') ? { ok: false, error: 'no agents' } : { ok: true, data: { position: 1 } },
    );
    registry.register('answer', async (params, ctx) => {
      const query = (params.query ?? '').toLowerCase();
      const hit = fixtures.knowledge?.find((k) => k.keywords.some((w) => query.includes(w.toLowerCase())));
      return hit ? { ok: true, data: { text: hit[ctx.language] } } : { ok: false, error: 'nothing relevant' };
    });
    void TICKET_ACTION_IRREVERSIBLE;
    return driver;
  }

  newSession(): Session {
    return { flow: emptyFlowState(), handoff: 'bot', failures: 0, unknownStreak: 0, history: [] };
  }

  async turn(session: Session, raw: string, now: string): Promise<TurnOutcome> {
    const pre = preprocess(raw, {
      now: new Date(now),
      timezoneOffsetMinutes: 480,
      patterns: this.config.entities.patterns,
      localeHint: session.language,
    });
    const language = pre.language;
    session.language = language;
    // Follow-ups ("那退货呢？") are made standalone first: intent and retrieval both read the rewrite.
    const query = rewriteByRules(pre.text, session.history);
    const intent = await this.recognizer.recognize(
      query === pre.text ? pre : { text: query, folded: foldForMatching(query) },
    );
    const flowActive = session.flow.stack.length > 0;
    const decision = decide(
      {
        handoff: session.handoff,
        raw,
        folded: pre.folded,
        intent,
        flowActive,
        intentStartsFlow: this.runtime.flowFor(intent.name) !== undefined,
        consecutiveFailures: session.failures,
        unknownStreak: session.unknownStreak,
      },
      this.config.policy,
    );
    const outcome: TurnOutcome = {
      intent,
      decision,
      replies: [],
      replyKeys: [],
      actions: [],
      signals: [],
      query,
    };
    const message = {
      kind: 'message' as const,
      text: pre.text,
      query,
      language,
      entities: pre.entities,
      intent: intent.name === 'unknown' ? undefined : intent,
      now,
    };
    const replies: Reply[] = [];
    session.unknownStreak = intent.name === 'unknown' ? session.unknownStreak + 1 : 0;

    if (decision.type === 'silent') return this.finish(session, pre.text, outcome, replies, language, now);
    if (decision.type === 'wait') {
      replies.push({ key: 'policy.waiting', params: {} });
    } else if (decision.type === 'handoff') {
      await this.runFlow(
        session,
        this.runtime.start(session.flow, 'handoff', message, { reason: decision.reason }),
        replies,
        outcome,
        language,
        now,
      );
    } else if (decision.type === 'flow') {
      await this.runFlow(
        session,
        this.runtime.advance(session.flow, message, language),
        replies,
        outcome,
        language,
        now,
      );
    } else {
      const request: ActionRequest = {
        id: `answer:${now}`,
        action: 'answer',
        params: { query },
        irreversible: false,
        flow: '',
        step: '',
      };
      const result = await this.registry.run(request, { conversationKey: 'test', language });
      outcome.actions.push(request);
      if (result.ok) {
        replies.push({ key: 'policy.answer', params: { text: String(result.data.text) } });
        session.failures = 0;
      } else {
        replies.push({ key: 'policy.noAnswer', params: {} });
        session.failures++;
      }
    }
    return this.finish(session, pre.text, outcome, replies, language, now);
  }

  private async runFlow(
    session: Session,
    first: ReturnType<FlowRuntime['advance']>,
    replies: Reply[],
    outcome: TurnOutcome,
    language: Language,
    now: string,
  ): Promise<void> {
    let result = first;
    for (let guard = 0; guard < 10; guard++) {
      session.flow = result.state;
      replies.push(...result.replies);
      outcome.signals.push(...result.signals);
      const [request] = result.actions;
      if (!request) break;
      outcome.actions.push(request);
      this.actionsRun.push(request);
      const done = await this.registry.run(request, { conversationKey: 'test', language });
      result = this.runtime.advance(
        session.flow,
        done.ok
          ? { kind: 'action_result', requestId: request.id, ok: true, data: done.data, now }
          : { kind: 'action_result', requestId: request.id, ok: false, error: done.error, now },
        language,
      );
    }
    for (const signal of outcome.signals) {
      if (signal === 'slot_invalid' || signal === 'slot_failed' || signal === 'action_failed')
        session.failures++;
      if (signal === 'slot_filled' || signal === 'completed') session.failures = 0;
    }
    if (outcome.signals.includes('handoff')) session.handoff = 'waiting';
    else if (
      outcome.signals.includes('slot_failed') &&
      failedTooOften(session.failures, this.config.policy.maxFailures)
    ) {
      outcome.decision = { type: 'handoff', reason: 'repeated_failure' };
      const message = { kind: 'message' as const, text: '', language, entities: [], now };
      await this.runFlow(
        session,
        this.runtime.start(session.flow, 'handoff', message, { reason: 'repeated_failure' }),
        replies,
        outcome,
        language,
        now,
      );
    }
  }

  private finish(
    session: Session,
    text: string,
    outcome: TurnOutcome,
    replies: Reply[],
    language: Language,
    now: string,
  ): TurnOutcome {
    const catalog = new Map([...this.flows.catalog, ...POLICY_MESSAGES]);
    outcome.replyKeys = replies.map((r) => r.key);
    outcome.replies = replies.map((r) => renderReply(r, language, catalog));
    session.history.push({ role: 'user', text, at: now, locale: language });
    if (outcome.replies.length)
      session.history.push({
        role: 'assistant',
        text: outcome.replies.join('\n'),
        at: now,
        locale: language,
      });
    return outcome;
  }
}

const POLICY_MESSAGES: [string, { zh: string; en: string }][] = [
  [
    'policy.waiting',
    { zh: '已为您排队等待人工客服，请稍候。', en: 'You are in the queue for a human agent; please hold on.' },
  ],
  ['policy.answer', { zh: '{text}', en: '{text}' }],
  [
    'policy.noAnswer',
    { zh: '抱歉，我暂时无法回答这个问题。', en: 'Sorry, I do not have an answer to that.' },
  ],
];

export interface ConversationScript {
  name: string;
  start?: string;
  fixtures?: Fixtures;
  turns: {
    user: string;
    /** Minutes after the previous turn (default 1). */
    after?: number;
    /** The test sets the handoff state before this turn (an agent takes or releases the conversation). */
    handoffBefore?: Session['handoff'];
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
      handoff?: Session['handoff'];
      signals?: string[];
      query?: string;
    };
  }[];
}

export function readScript(path: string): ConversationScript {
  return parseYaml(readFileSync(path, 'utf8')) as ConversationScript;
}
