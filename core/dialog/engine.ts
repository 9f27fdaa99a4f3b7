import type { HubConfig } from '../config/schema';
import { logger } from '../log';
import { llmFallbacks, timed } from '../metrics';
import { buildRagMessages, dontKnow, extractiveAnswer } from '../rag';
import {
  type Citation,
  type DialogProgress,
  type DialogState,
  HubError,
  type InboundEvent,
  type LlmClient,
  type OutboundMessage,
  type Passage,
  type Retriever,
  type RouteHint,
  type Turn,
} from '../types';
import type { DialogCommands } from './commands';
import { rewriteFollowUp } from './context/rewrite';
import { fitHistory } from './context/window';
import type { ActionContext, ActionOutcome, ActionRequest } from './flows/actions';
import { type Catalog, type Reply, renderReply } from './flows/messages';
import { type AdvanceResult, emptyFlowState, type FlowSignal, type TurnInput } from './flows/runtime';
import { agentsAtWork, describeHours } from './hours';
import type { IntentResult } from './intent/recognizer';
import type { Language } from './language';
import { POLICY_MESSAGES, say } from './messages';
import { anyPhrase, CANCEL_WORDS } from './policy/lexicon';
import { type Decision, decide } from './policy/policy';
import { failedTooOften, type HandoffReason } from './policy/rules';
import { type Entity, foldForMatching, preprocess } from './preprocess';
import type { DialogKit } from './setup';

export interface EngineDeps {
  config: HubConfig;
  retriever: Retriever;
  /** Absent on the embedded default: answers are then extractive, intents and rewrites by rule. */
  llm?: LlmClient;
  /** Intents, flows, policy and actions (core/dialog/setup.ts). */
  dialog: DialogKit;
  /** The order look-up a customer finishes by typing the phone or e-mail asked for. */
  commands?: DialogCommands;
  now?: () => Date;
}

/** Why the engine did what it did: for logs, metrics and the scripted-conversation tests. */
export interface TurnTrace {
  intent?: IntentResult;
  decision?: Decision;
  /** The query retrieval and intent read: the follow-up rewritten to stand alone. */
  query?: string;
  actions: ActionRequest[];
  signals: FlowSignal[];
  replyKeys: string[];
  /** Each reply rendered on its own, before they are joined into one message. */
  texts: string[];
}

/** Per-turn options of `respond`. */
export interface RespondOptions {
  /** The LLM answer so far, as it streams (answer generation only; not intents or rewrites). */
  onDraft?: (textSoFar: string) => void;
}

/** The id of the one reply a turn produces; a channel's draft of it carries the same id. */
export const replyIdOf = (event: InboundEvent) => `${event.id}#0`;

export interface TurnResult {
  replies: OutboundMessage[];
  state: DialogState;
  trace: TurnTrace;
}

/** Recently handled inbound event ids kept in the state (a redelivery among them is answered once). */
export const HANDLED_IDS_KEPT = 200;
/** The flow the policy starts to hand a conversation to a person (config/flows/handoff.yaml). */
const HANDOFF_FLOW = 'handoff';
/** Actions a single turn may chain (an action's result can start the next step's action). */
const MAX_ACTIONS_PER_TURN = 10;

export function emptyState(conversationKey: string): DialogState {
  return {
    conversationKey,
    slots: {},
    history: [],
    handoff: 'bot',
    handledEventIds: [],
    updatedAt: new Date(0).toISOString(),
  };
}

/** What the answer generation needs. */
interface AnswerInput {
  question: string;
  passages: Passage[];
  language: Language;
  history: Turn[];
  route: RouteHint;
  onText?: (textSoFar: string) => void;
}

const emptyProgress = (): DialogProgress => ({ flow: emptyFlowState(), failures: 0, unknownStreak: 0 });

/** One turn's work in progress: the replies so far, and what the answer action found. */
interface Work {
  event: InboundEvent;
  state: DialogState;
  progress: DialogProgress;
  language: Language;
  now: Date;
  replies: Reply[];
  citations: Citation[];
  source: NonNullable<OutboundMessage['source']>;
  trace: TurnTrace;
  onDraft?: (textSoFar: string) => void;
}

/**
 * Turns one inbound event and the conversation's state into replies and the next state:
 * preprocess → follow-up rewrite → intent (rules, classifier, LLM) → policy → flow runtime, whose
 * actions run through the kit's registry with the outcome fed back. Pure with respect to storage:
 * the caller persists, so a redelivered event can be answered once.
 */
export class DialogEngine {
  private readonly catalog: Catalog;
  private readonly now: () => Date;

  constructor(private readonly deps: EngineDeps) {
    this.catalog = new Map([...deps.dialog.flows.catalog, ...Object.entries(POLICY_MESSAGES)]);
    this.now = deps.now ?? (() => new Date());
    if (!deps.dialog.actions.has('answer')) {
      deps.dialog.actions.register('answer', (params, ctx) => this.answerAction(params.query ?? '', ctx));
    }
  }

  async respond(event: InboundEvent, state: DialogState, options: RespondOptions = {}): Promise<TurnResult> {
    const now = this.now();
    const progress: DialogProgress = structuredClone(state.dialog ?? emptyProgress());
    const next: DialogState = {
      ...state,
      slots: { ...state.slots },
      dialog: progress,
      handledEventIds: [...state.handledEventIds, event.id].slice(-HANDLED_IDS_KEPT),
      updatedAt: now.toISOString(),
    };
    const work: Work = {
      event,
      state: next,
      progress,
      language: (state.locale === 'zh' ? 'zh' : 'en') as Language,
      now,
      replies: [],
      citations: [],
      source: 'flow',
      trace: { actions: [], signals: [], replyKeys: [], texts: [] },
      onDraft: options.onDraft,
    };
    if (event.kind === 'handoff') {
      this.fromHelpdesk(work);
      return this.finish(work, undefined);
    }
    if (event.kind !== 'message' && event.kind !== 'action') return this.finish(work, undefined);
    // Group chatter not aimed at the bot is recorded, not answered.
    if (event.addressedToBot === false) return this.finish(work, undefined);
    this.returnIdleHandoff(work);

    const raw = event.text ?? event.action?.title ?? actionValue(event) ?? '';
    const dialog = this.deps.dialog;
    const pre = preprocess(raw, {
      now,
      timezoneOffsetMinutes: this.deps.config.dialog.timezoneOffsetMinutes,
      patterns: dialog.config.entities.patterns,
      tenant: event.ref.tenant,
      localeHint: event.locale ?? state.locale,
    });
    work.language = pre.language;
    next.locale = pre.language;
    if (!pre.text) {
      if (next.handoff !== 'bot') await this.forwardToTicket(work);
      if (next.handoff !== 'human') {
        work.source = 'system';
        this.text(work, say(event.attachments?.length ? 'attachmentOnly' : 'emptyMessage', pre.language));
      }
      return this.finish(work, '');
    }

    // The customer answers the proof question of an order asked about before.
    if (next.handoff === 'bot' && this.deps.commands) {
      const resumed = await this.deps.commands.resumeProof({
        event,
        text: pre.text,
        language: pre.language,
        state: next,
      });
      if (resumed) {
        this.text(work, resumed.text);
        return this.finish(work, pre.text);
      }
    }

    // Waiting for a person, the customer may change their mind.
    if (next.handoff === 'waiting' && anyPhrase(pre.folded, CANCEL_WORDS)) {
      this.setHandoff(work, 'bot');
      work.replies.push({ key: 'policy.handoffCancelled', params: {} });
      return this.finish(work, pre.text);
    }

    const llm = this.deps.llm;
    const bot = next.handoff === 'bot';
    const { query } = bot
      ? await rewriteFollowUp(pre.text, state.history, pre.language, llm)
      : { query: pre.text };
    work.trace.query = query;
    const recognized = bot
      ? await dialog.recognizer.recognize(
          query === pre.text ? pre : { text: query, folded: foldForMatching(query) },
        )
      : unknownIntent();
    // Mid-flow an order id answers the flow's question; outside one it asks about that order.
    const intent = progress.flow.stack.length
      ? recognized
      : this.orderIdMeansOrderStatus(recognized, pre.entities);
    work.trace.intent = intent;
    const decision = decide(
      {
        handoff: next.handoff,
        raw,
        folded: pre.folded,
        intent,
        flowActive: progress.flow.stack.length > 0,
        intentStartsFlow: dialog.runtime.flowFor(intent.name) !== undefined,
        consecutiveFailures: progress.failures,
        unknownStreak: progress.unknownStreak,
      },
      dialog.config.policy,
    );
    work.trace.decision = decision;
    if (bot) progress.unknownStreak = intent.name === 'unknown' ? progress.unknownStreak + 1 : 0;

    const message: Extract<TurnInput, { kind: 'message' }> = {
      kind: 'message',
      text: pre.text,
      query,
      language: pre.language,
      entities: pre.entities,
      intent: intent.name === 'unknown' ? undefined : intent,
      now: now.toISOString(),
    };
    switch (decision.type) {
      case 'silent':
        await this.forwardToTicket(work);
        break;
      case 'wait': {
        await this.forwardToTicket(work);
        const reference = next.slots['ticket.reference'];
        work.replies.push(
          typeof reference === 'string'
            ? { key: 'policy.waitingTicket', params: { reference } }
            : { key: 'policy.waiting', params: {} },
        );
        this.sayIfOutOfHours(work);
        break;
      }
      case 'handoff':
        await this.handOff(work, message, decision.reason);
        break;
      case 'flow': {
        const result = dialog.runtime.advance(progress.flow, message, pre.language);
        if (result.handled) await this.runFlow(work, result);
        else {
          // The flow let the message go (a new question after "did that help?"): answer it.
          progress.flow = result.state;
          await this.answerDirectly(work, query);
        }
        break;
      }
      case 'answer':
        await this.answerDirectly(work, query);
        break;
    }
    return this.finish(work, pre.text);
  }

  /** A flow's message and the actions it asks for, until it waits for the customer again. */
  private async runFlow(work: Work, first: AdvanceResult): Promise<void> {
    const { runtime } = this.deps.dialog;
    const { progress } = work;
    let result = first;
    const signals: FlowSignal[] = [];
    for (let guard = 0; ; guard++) {
      progress.flow = result.state;
      work.replies.push(...result.replies);
      signals.push(...result.signals);
      work.trace.signals.push(...result.signals);
      const [request] = result.actions;
      if (!request) break;
      if (guard >= MAX_ACTIONS_PER_TURN) {
        logger.warn({ flow: request.flow, step: request.step }, 'flow ran too many actions in one turn');
        break;
      }
      const outcome = await this.runAction(work, request, progress.flow.stack.at(-1)?.slots);
      result = runtime.advance(
        progress.flow,
        outcome.ok
          ? { kind: 'action_result', requestId: request.id, ok: true, data: outcome.data, now: iso(work) }
          : { kind: 'action_result', requestId: request.id, ok: false, error: outcome.error, now: iso(work) },
        work.language,
      );
    }
    // This run's signals only: a handoff started below runs the flow runtime again.
    for (const signal of signals) {
      if (signal === 'slot_invalid' || signal === 'slot_failed' || signal === 'action_failed')
        progress.failures++;
      if (signal === 'slot_filled' || signal === 'completed') progress.failures = 0;
    }
    if (signals.includes('handoff')) {
      if (work.state.handoff !== 'human') this.setHandoff(work, 'waiting');
      this.sayIfOutOfHours(work);
    } else if (
      signals.includes('slot_failed') &&
      failedTooOften(progress.failures, this.deps.dialog.config.policy.maxFailures)
    ) {
      work.trace.decision = { type: 'handoff', reason: 'repeated_failure' };
      const message = {
        kind: 'message' as const,
        text: '',
        language: work.language,
        entities: [],
        now: iso(work),
      };
      await this.handOff(work, message, 'repeated_failure');
    }
  }

  private async handOff(
    work: Work,
    message: Extract<TurnInput, { kind: 'message' }>,
    reason: HandoffReason,
  ): Promise<void> {
    const { runtime, flows } = this.deps.dialog;
    if (!flows.flows.has(HANDOFF_FLOW)) {
      this.text(work, dontKnow(work.language));
      return;
    }
    await this.runFlow(work, runtime.start(work.progress.flow, HANDOFF_FLOW, message, { reason }));
  }

  /** No flow takes the message: answer it from the knowledge base. */
  private async answerDirectly(work: Work, query: string): Promise<void> {
    const request: ActionRequest = {
      id: `answer:${work.event.id}`,
      action: 'answer',
      params: { query },
      irreversible: false,
      flow: '',
      step: '',
    };
    const outcome = await this.runAction(work, request);
    if (outcome.ok) {
      work.replies.push({ key: 'policy.text', params: { text: String(outcome.data.text ?? '') } });
      work.progress.failures = 0;
      // Only unknown messages the knowledge base could not answer count towards a handoff.
      work.progress.unknownStreak = 0;
    } else {
      this.text(work, dontKnow(work.language));
      work.progress.failures++;
    }
  }

  /** Run one action with the turn's context; the answer action's citations and source go with the reply. */
  private async runAction(
    work: Work,
    request: ActionRequest,
    slots?: Record<string, string>,
  ): Promise<ActionOutcome> {
    work.trace.actions.push(request);
    const outcome = await timed('action', () =>
      this.deps.dialog.actions.run(request, {
        conversationKey: work.state.conversationKey,
        language: work.language,
        tenant: work.event.ref.tenant,
        event: work.event,
        state: work.state,
        slots,
        intent: work.trace.intent?.name,
        confidence: work.trace.intent?.confidence,
        onText: work.onDraft,
      }),
    );
    if (request.action === 'answer' && outcome.ok) {
      const { citations, source } = outcome.data;
      if (Array.isArray(citations)) work.citations.push(...(citations as Citation[]));
      if (source === 'llm' || source === 'extractive') work.source = source;
    }
    return outcome;
  }

  /**
   * The built-in `answer` action: retrieval in the tenant's and the shared knowledge, then the LLM
   * (or the best passage when there is none). Fails when nothing relevant is found, so flows and the
   * policy can offer a person instead of a guess.
   */
  private async answerAction(question: string, ctx: ActionContext): Promise<ActionOutcome> {
    if (!question.trim()) return { ok: false, error: 'empty question' };
    const { language } = ctx;
    const tenant = ctx.tenant ?? 'default';
    const passages = await timed('retrieve', () =>
      this.deps.retriever.search(question, { k: this.deps.config.knowledge.topK, language, tenant }),
    );
    const extract = extractiveAnswer(question, passages, language);
    if (extract.citations.length === 0) return { ok: false, error: 'nothing relevant' };
    const extractive = (reason: string): ActionOutcome => {
      llmFallbacks.inc({ reason });
      return { ok: true, data: { ...extract, source: 'extractive' } };
    };
    const llm = this.deps.llm;
    if (!llm) return extractive('disabled');
    if (!llm.available()) return extractive('circuit_open');
    const answer: AnswerInput = {
      question,
      passages,
      language,
      history: ctx.state?.history ?? [],
      route: { tenant, intent: ctx.intent, confidence: ctx.confidence, task: 'answer', question },
      onText: ctx.onText,
    };
    try {
      const generated = await timed('generate', () => this.generate(llm, answer));
      return { ok: true, data: { ...generated } };
    } catch (error) {
      const code = error instanceof HubError ? error.code : 'llm.unknown';
      logger.warn({ code }, 'LLM failed; answering extractively');
      return extractive(code === 'llm.timeout' ? 'timeout' : 'error');
    }
  }

  private async generate(
    llm: LlmClient,
    { question, passages, language, history, route, onText }: AnswerInput,
  ): Promise<{ text: string; citations: Citation[]; source: 'llm' }> {
    const { config } = this.deps;
    // Whole turns that fit the model's context, newest first; the prompt budget trims further.
    const window = fitHistory(history, this.deps.dialog.config.context);
    const prompt = buildRagMessages({
      question,
      passages,
      history: window.summary
        ? [{ role: 'assistant', text: window.summary, at: window.turns[0]?.at ?? '' }, ...window.turns]
        : window.turns,
      language,
      budgetTokens: config.knowledge.promptBudgetTokens,
    });
    let soFar = '';
    const result = await llm.chat({
      messages: prompt.messages,
      maxTokens: config.llm.maxTokens,
      temperature: config.llm.temperature,
      route,
      ...(onText
        ? {
            onDelta: (delta: string) => {
              soFar += delta;
              onText(soFar);
            },
          }
        : {}),
    });
    const text = result.text.trim();
    if (!text) throw new HubError('llm.empty', 'The model returned an empty answer', { retryable: true });
    return { text, citations: prompt.citations, source: 'llm' };
  }

  /** An agent wrote, took the ticket, or solved/closed it (published by core/handoff). */
  private fromHelpdesk(work: Work): void {
    const update = work.event.handoff;
    if (!update) return;
    const { state, progress } = work;
    work.source = 'agent';
    switch (update.change) {
      case 'reply': {
        const text = update.text?.trim();
        if (!text) return;
        if (state.handoff !== 'human') this.setHandoff(work, 'human');
        progress.agentAt = iso(work);
        this.text(work, text);
        return;
      }
      case 'assigned':
        if (state.handoff === 'human') return;
        this.setHandoff(work, 'human');
        progress.agentAt = iso(work);
        work.replies.push({
          key: 'policy.agentJoined',
          params: { agent: update.agentName ? ` ${update.agentName}` : '' },
        });
        return;
      case 'solved':
      case 'closed': {
        if (state.handoff === 'bot') return;
        this.setHandoff(work, 'bot');
        // What the bot was doing before the person took over is over.
        progress.flow = emptyFlowState();
        const { 'ticket.reference': _done, ...slots } = state.slots;
        state.slots = slots;
        progress.ticket = undefined;
        work.source = 'system';
        work.replies.push({ key: 'policy.backToBot', params: {} });
      }
    }
  }

  /** While a person owns the conversation, or one is awaited, what the customer writes reaches the ticket. */
  private async forwardToTicket(work: Work): Promise<void> {
    await this.deps.commands?.forwardToTicket(work.event, work.state);
  }

  /** Return rule: a person took over but no agent wrote for `returnToBotAfterMinutes`. */
  private returnIdleHandoff(work: Work): void {
    const { state, progress } = work;
    if (state.handoff !== 'human') return;
    const since = Date.parse(progress.agentAt ?? progress.handoffAt ?? state.updatedAt);
    const idleMs = this.deps.config.dialog.returnToBotAfterMinutes * 60_000;
    if (Number.isFinite(since) && work.now.getTime() - since >= idleMs) this.setHandoff(work, 'bot');
  }

  private setHandoff(work: Work, to: DialogState['handoff']): void {
    work.state.handoff = to;
    work.progress.handoffAt = iso(work);
    if (to === 'bot') work.progress.agentAt = undefined;
    // The failures that led to a person are dealt with: back with the bot, the count starts again.
    work.progress.failures = 0;
    work.progress.unknownStreak = 0;
  }

  private sayIfOutOfHours(work: Work): void {
    const { hours, timezoneOffsetMinutes } = this.deps.config.dialog;
    if (!hours || agentsAtWork(work.now, hours, timezoneOffsetMinutes)) return;
    work.replies.push({
      key: 'policy.outOfHours',
      params: { hours: describeHours(hours, timezoneOffsetMinutes, work.language) },
    });
  }

  /** A message that is just an order id (or one with an unclear intent) asks about that order. */
  private orderIdMeansOrderStatus(intent: IntentResult, entities: Entity[]): IntentResult {
    if (intent.name !== 'unknown' && intent.name !== 'faq') return intent;
    if (!entities.some((e) => e.type === 'order_id')) return intent;
    if (!this.deps.dialog.runtime.flowFor('order_status')) return intent;
    return { ...intent, name: 'order_status', confidence: 1, tier: 'rules' };
  }

  private text(work: Work, text: string): void {
    work.replies.push({ key: 'policy.text', params: { text } });
  }

  /** Render the replies in the customer's language as one message, and write the turns to history. */
  private finish(work: Work, userText: string | undefined): TurnResult {
    const { event, state, language } = work;
    work.trace.replyKeys = work.replies.map((r) => r.key);
    work.trace.texts = work.replies.map((r) => renderReply(r, language, this.catalog));
    const text = work.trace.texts.filter((t) => t.trim()).join('\n\n');
    const at = iso(work);
    const history = [...state.history];
    if (userText !== undefined)
      history.push({
        role: 'user',
        text: userText,
        at: event.receivedAt,
        eventId: event.id,
        locale: language,
      });
    if (text) history.push({ role: 'assistant', text, at, locale: language });
    state.history = history.slice(-this.deps.config.state.historyTurns);
    const replies: OutboundMessage[] = text
      ? [
          {
            id: replyIdOf(event),
            ref: event.ref,
            inReplyTo: event.id,
            content: { type: 'text', text, format: 'markdown' },
            citations: work.citations,
            locale: language,
            createdAt: at,
            source: work.source,
          },
        ]
      : [];
    return { replies, state, trace: work.trace };
  }
}

const iso = (work: Work) => work.now.toISOString();

function unknownIntent(): IntentResult {
  return { name: 'unknown', confidence: 0, tier: 'none', candidates: [] };
}

function actionValue(event: InboundEvent): string | undefined {
  const value = event.action?.value;
  return typeof value === 'string' ? value : undefined;
}
