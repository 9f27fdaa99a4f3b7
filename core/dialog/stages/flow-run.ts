import { logger } from '../../log';
import { timed } from '../../metrics';
import { dontKnow } from '../../rag';
import type { Citation, ModelRelease } from '../../types';
import type { ActionOutcome, ActionRequest } from '../flows/actions';
import type { AdvanceResult, FlowSignal, StaleFrame, TurnInput } from '../flows/runtime';
import { setHandoff } from '../handoff';
import { agentsAtWork, describeHours } from '../hours';
import { noteAnswer, noteFeedback } from '../model-outcomes';
import { failedTooOften, type HandoffReason } from '../policy/rules';
import { actionContextOf, isoNow, sayText, type TurnContext, type TurnTrace } from '../turn-context';
import type { StageDeps } from './deps';
import { checkAnswer } from './safety-output';
import { takeSpeculativeAnswer } from './speculative-answer';

/**
 * What the flow, handoff and answer stages share: driving a flow through its actions, starting
 * the handoff flow, running one action with the turn's context.
 */

/** The flow the policy starts to hand a conversation to a person (config/flows/handoff.yaml). */
const HANDOFF_FLOW = 'handoff';
/** Actions a single turn may chain (an action's result can start the next step's action). */
const MAX_ACTIONS_PER_TURN = 10;

export type MessageInput = Extract<TurnInput, { kind: 'message' }>;

/** The turn's message as the flow runtime reads it. */
export function messageInput(turn: TurnContext): MessageInput {
  const intent = turn.trace.intent;
  return {
    kind: 'message',
    text: turn.pre?.text ?? '',
    query: turn.trace.query,
    language: turn.language,
    entities: turn.pre?.entities ?? [],
    intent: intent && intent.name !== 'unknown' ? intent : undefined,
    ...(turn.choice !== undefined ? { choice: turn.choice } : {}),
    now: isoNow(turn),
  };
}

/** A flow's message and the actions it asks for, until it waits for the customer again. */
export async function runFlow(turn: TurnContext, deps: StageDeps, first: AdvanceResult): Promise<void> {
  const { runtime } = deps.dialog;
  const { progress } = turn;
  let result = first;
  const signals: FlowSignal[] = [];
  for (let guard = 0; ; guard++) {
    warnStale(result.dropped);
    progress.flow = result.state;
    turn.replies.push(...result.replies);
    signals.push(...result.signals);
    turn.trace.signals.push(...result.signals);
    const [request] = result.actions;
    if (!request) break;
    if (guard >= MAX_ACTIONS_PER_TURN) {
      logger.warn({ flow: request.flow, step: request.step }, 'flow ran too many actions in one turn');
      break;
    }
    const outcome = await runAction(turn, deps, request, progress.flow.stack.at(-1)?.slots);
    const now = isoNow(turn);
    result = runtime.advance(
      progress.flow,
      outcome.ok
        ? { kind: 'action_result', requestId: request.id, ok: true, data: outcome.data, now }
        : { kind: 'action_result', requestId: request.id, ok: false, error: outcome.error, now },
      turn.language,
    );
  }
  // This run's signals only: a handoff started below runs the flow runtime again.
  for (const signal of signals) {
    if (signal === 'slot_invalid' || signal === 'slot_failed' || signal === 'action_failed')
      progress.failures++;
    if (signal === 'slot_filled' || signal === 'completed') progress.failures = 0;
    if (signal === 'helpful' || signal === 'unhelpful') noteFeedback(progress, signal === 'helpful');
  }
  if (signals.includes('handoff')) {
    if (turn.state.handoff !== 'human') setHandoff(turn.state, 'waiting', isoNow(turn));
    sayIfOutOfHours(turn, deps);
  } else if (
    signals.includes('slot_failed') &&
    failedTooOften(progress.failures, deps.dialog.config.policy.maxFailures)
  ) {
    turn.trace.decision = { type: 'handoff', reason: 'repeated_failure' };
    const message: MessageInput = {
      kind: 'message',
      text: '',
      language: turn.language,
      entities: [],
      now: isoNow(turn),
    };
    await handOff(turn, deps, message, 'repeated_failure');
  }
}

/** Start the handoff flow (it queues the conversation for a person), or say so when there is none. */
export async function handOff(
  turn: TurnContext,
  deps: StageDeps,
  message: MessageInput,
  reason: HandoffReason,
): Promise<void> {
  const { runtime, flows } = deps.dialog;
  if (!flows.flows.has(HANDOFF_FLOW)) {
    sayText(turn, dontKnow(turn.language));
    return;
  }
  await runFlow(turn, deps, runtime.start(turn.progress.flow, HANDOFF_FLOW, message, { reason }));
}

/** Run one action with the turn's context; the answer action's citations and source go with the reply. */
export async function runAction(
  turn: TurnContext,
  deps: StageDeps,
  request: ActionRequest,
  slots?: Record<string, string>,
): Promise<ActionOutcome> {
  turn.trace.actions.push(request);
  const done = await timed(
    'action',
    () =>
      // An answer started beside the LLM intent tier (dialog.llmIntentTier: speculative) is this one.
      takeSpeculativeAnswer(turn, request) ??
      deps.dialog.actions.run(request, {
        ...actionContextOf(turn),
        slots,
        intent: turn.trace.intent?.name,
        confidence: turn.trace.intent?.confidence,
        onText: turn.onDraft,
      }),
  );
  // A generated or extracted answer is checked before any stage or flow uses its text (core/safety).
  const outcome = request.action === 'answer' ? await checkAnswer(turn, deps, done) : done;
  const retrieved = request.action === 'answer' ? outcome.data?.retrieved : undefined;
  if (Array.isArray(retrieved)) turn.trace.retrieved.push(...(retrieved as TurnTrace['retrieved']));
  // "I don't know": the knowledge base had nothing (or the answer failed its checks).
  if (request.action === 'answer' && !outcome.ok) turn.trace.unanswered = true;
  if (request.action === 'answer' && outcome.ok) {
    const { citations, source, release, fallback } = outcome.data;
    // `disabled` is no fallback: the deployment runs without a model.
    if (typeof fallback === 'string' && fallback !== 'disabled') turn.trace.llmFallback = fallback;
    if (Array.isArray(citations)) turn.citations.push(...(citations as Citation[]));
    if (source === 'llm' && release) turn.trace.model = release as ModelRelease;
    if (source === 'llm' || source === 'extractive' || source === 'system') turn.source = source;
    if (source !== 'system' && typeof outcome.data.text === 'string') turn.answers.push(outcome.data.text);
    noteAnswer(
      turn.progress,
      source === 'llm' ? (release as ModelRelease | undefined) : undefined,
      isoNow(turn),
    );
  }
  return outcome;
}

/** While a person owns the conversation, or one is awaited, what the customer writes reaches the ticket. */
export async function forwardToTicket(turn: TurnContext, deps: StageDeps): Promise<void> {
  await deps.commands?.forwardToTicket(turn.event, turn.state);
}

export function sayIfOutOfHours(turn: TurnContext, deps: StageDeps): void {
  const { hours, timezoneOffsetMinutes } = deps.config.dialog;
  if (!hours || agentsAtWork(turn.now, hours, timezoneOffsetMinutes)) return;
  turn.replies.push({
    key: 'policy.outOfHours',
    params: { hours: describeHours(hours, timezoneOffsetMinutes, turn.language) },
  });
}

/** A renamed or removed flow, or a renamed step, met in a saved conversation: say so in the log. */
export function warnStale(dropped: readonly StaleFrame[]): void {
  for (const frame of dropped) {
    logger.warn(
      { code: 'dialog.stale_flow', flow: frame.flow, step: frame.step, reason: frame.reason },
      'dropped a flow frame the configuration no longer defines; the message is answered without it',
    );
  }
}
