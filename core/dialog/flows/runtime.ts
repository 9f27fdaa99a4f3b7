import type { FlowFrame, FlowState } from '../../types/flow';
import type { Language } from '../language';
import {
  anyPhrase,
  CANCEL_WORDS,
  containsPhrase,
  isQuestion,
  RESTART_WORDS,
  startsWithYesOrNo,
  yesOrNo,
} from '../policy/lexicon';
import { maySwitchTopic, nextMissingSlot, requiresConfirmation } from '../policy/rules';
import type { Entity } from '../preprocess/entities';
import type { ActionRequest } from './actions';
import { confirmAnswer, confirmChoices, type ReplyChoice, slotChoices, tappedValue } from './choices';
import type { FlowSet } from './load';
import type { Reply } from './messages';
import { CANCEL, END, type FlowDefinition, type SlotDefinition, type StepDefinition } from './schema';

export const emptyFlowState = (): FlowState => ({ stack: [] });

export type TurnInput =
  | {
      kind: 'message';
      /** Cleaned message text (preprocess().text). */
      text: string;
      /** The standalone rewrite of a follow-up (core/dialog/context/rewrite.ts); default `text`. */
      query?: string;
      language: Language;
      entities: Entity[];
      /** The recognized intent when confident; absent or `unknown` otherwise. */
      intent?: { name: string; confidence: number; tier?: string };
      /** The id of a choice the customer tapped (./choices.ts): an answer, never a change of topic. */
      choice?: string;
      now: string;
    }
  | {
      kind: 'action_result';
      requestId: string;
      ok: boolean;
      data?: Record<string, unknown>;
      error?: string;
      now: string;
    };

export type FlowSignal =
  | 'started'
  | 'completed'
  | 'cancelled'
  | 'restarted'
  | 'expired'
  | 'suspended'
  | 'resumed'
  | 'slot_filled'
  | 'slot_invalid'
  | 'slot_failed'
  | 'action_failed'
  | 'handoff'
  /** A `feedback: true` confirm step answered: the answer before it helped, or did not. */
  | 'helpful'
  | 'unhelpful'
  | 'not_handled';

export interface AdvanceResult {
  state: FlowState;
  replies: Reply[];
  /** Run these (in order) and feed each outcome back as an `action_result` input. */
  actions: ActionRequest[];
  signals: FlowSignal[];
  /** False when no flow took the message: the policy answers it another way. */
  handled: boolean;
  /** Frames dropped because the configuration no longer defines their flow or step. */
  dropped: StaleFrame[];
}

/** A saved frame whose flow was renamed or removed, or whose step no longer exists in its flow. */
export interface StaleFrame {
  flow: string;
  step: string;
  reason: 'unknown_flow' | 'unknown_step';
}

interface Turn {
  stack: FlowFrame[];
  replies: Reply[];
  actions: ActionRequest[];
  signals: FlowSignal[];
  now: string;
  input: TurnInput;
  /** Only for titles inside message params; the reply texts themselves are rendered later. */
  language: Language;
}

/** Dotted path into slots and vars: `order_id`, `order.status`, `slots.kind`. */
function lookup(frame: FlowFrame, path: string): unknown {
  const parts = path.split('.');
  if (parts[0] === 'slots') return frame.slots[parts[1] ?? ''];
  let value: unknown =
    parts[0] && parts[0] in frame.slots ? frame.slots[parts[0]] : frame.vars[parts[0] ?? ''];
  for (const part of parts.slice(1))
    value = value && typeof value === 'object' ? (value as Record<string, unknown>)[part] : undefined;
  return value;
}

function fill(template: string, frame: FlowFrame): string {
  return template.replace(/\{([\w.]+)\}/g, (_whole, path: string) => {
    const value = lookup(frame, path);
    return value === undefined || value === null ? '' : String(value);
  });
}

/** Slots and one level of saved results, flattened for message templates: `order.status`. */
function paramsOf(frame: FlowFrame, title: string): Record<string, string> {
  const params: Record<string, string> = { flow: title, ...frame.slots };
  for (const [name, value] of Object.entries(frame.vars)) {
    if (value && typeof value === 'object') {
      for (const [key, inner] of Object.entries(value as Record<string, unknown>)) {
        if (inner === null || typeof inner !== 'object') params[`${name}.${key}`] = String(inner);
      }
    } else if (value !== undefined) {
      params[name] = String(value);
    }
  }
  return params;
}

/**
 * Runs flows defined in YAML as state machines. `advance` is pure: state and input in, the next
 * state, the replies (message keys and params), the actions to run and what happened out. It does
 * no I/O and reads no clock (`input.now`).
 */
export class FlowRuntime {
  constructor(private readonly flows: FlowSet) {}

  /** The flow an intent starts, if any. */
  flowFor(intent: string | undefined): FlowDefinition | undefined {
    return intent ? this.flows.byIntent.get(intent) : undefined;
  }

  /**
   * One step of the conversation for the flows. `language` is the conversation's current language,
   * used for flow titles inside params when the input is an action result.
   */
  advance(state: FlowState, input: TurnInput, language: Language): AdvanceResult {
    const { state: current, dropped } = this.prune(state);
    const turn = newTurn(current, input, input.kind === 'message' ? input.language : language);
    const handled =
      input.kind === 'action_result' ? this.onActionResult(turn, input) : this.onMessage(turn, input);
    return {
      state: { stack: turn.stack },
      replies: turn.replies,
      actions: turn.actions,
      signals: handled ? turn.signals : [...turn.signals, 'not_handled'],
      handled,
      dropped,
    };
  }

  /**
   * Drop the frames the configuration no longer defines (a flow renamed or removed, a step renamed
   * while a conversation was inside it): such a frame cannot run, and keeping it would fail every
   * later message of the conversation. The caller logs what was dropped.
   */
  prune(state: FlowState): { state: FlowState; dropped: StaleFrame[] } {
    const dropped: StaleFrame[] = [];
    const stack = state.stack.filter((frame) => {
      const reason = this.staleness(frame);
      if (reason) dropped.push({ flow: frame.flow, step: frame.step, reason });
      return reason === undefined;
    });
    return { state: dropped.length ? { stack } : state, dropped };
  }

  /** The answers the conversation's waiting step offers as buttons: what a tap can mean now. */
  offered(state: FlowState): ReplyChoice[] {
    const frame = state.stack.at(-1);
    const flow = frame && this.flows.flows.get(frame.flow);
    const step = flow?.steps.find((s) => s.id === frame?.step);
    if (!frame || !flow || !step || frame.pendingAction) return [];
    if (step.type === 'confirm') return confirmChoices(step) ?? [];
    if (step.type !== 'ask') return [];
    const missing = nextMissingSlot(step.slots, frame.slots);
    const slot = flow.slots.find((s) => s.name === missing);
    return (slot && slotChoices(slot)) ?? [];
  }

  private staleness(frame: FlowFrame): StaleFrame['reason'] | undefined {
    const flow = this.flows.flows.get(frame.flow);
    if (!flow) return 'unknown_flow';
    const known = (id: string) => flow.steps.some((s) => s.id === id);
    if (!known(frame.step) || (frame.pendingAction && !known(frame.pendingAction.step)))
      return 'unknown_step';
    return undefined;
  }

  /** Start a flow directly (the policy's handoff does this), suspending any active one. */
  start(
    state: FlowState,
    flowName: string,
    input: Extract<TurnInput, { kind: 'message' }>,
    vars: Record<string, unknown> = {},
  ): AdvanceResult {
    const { state: current, dropped } = this.prune(state);
    const turn = newTurn(current, input, input.language);
    const flow = this.flows.flows.get(flowName);
    if (!flow) throw new Error(`no flow named ${flowName}`);
    this.push(turn, flow, input, vars);
    return {
      state: { stack: turn.stack },
      replies: turn.replies,
      actions: turn.actions,
      signals: turn.signals,
      handled: true,
      dropped,
    };
  }

  private definition(frame: FlowFrame): FlowDefinition {
    const flow = this.flows.flows.get(frame.flow);
    if (!flow) throw new Error(`flow ${frame.flow} is no longer defined`);
    return flow;
  }

  private title(flow: FlowDefinition, turn: Turn): string {
    return flow.title[turn.language];
  }

  private say(
    turn: Turn,
    key: string,
    frame: FlowFrame,
    flow: FlowDefinition,
    choices?: ReplyChoice[],
  ): void {
    const params = paramsOf(frame, this.title(flow, turn));
    turn.replies.push(choices?.length ? { key, params, choices } : { key, params });
  }

  /** A slot's question, with its values as buttons when it has a closed set. */
  private askFor(turn: Turn, slot: SlotDefinition, frame: FlowFrame, flow: FlowDefinition): void {
    this.say(turn, `flows.${flow.name}.slots.${slot.name}.prompt`, frame, flow, slotChoices(slot));
  }

  private onMessage(turn: Turn, input: Extract<TurnInput, { kind: 'message' }>): boolean {
    this.dropExpired(turn, input.now);
    const frame = turn.stack.at(-1);
    const target = this.flowFor(input.intent?.name);
    const folded = input.text.toLowerCase();

    if (!frame) {
      if (!target) return false;
      this.push(turn, target, input);
      return true;
    }
    const flow = this.definition(frame);
    frame.updatedAt = input.now;
    // A tapped button answers the question on screen: it is no cancel, restart or change of topic.
    const tapped = input.choice !== undefined;

    if (!tapped && (input.intent?.name === 'cancel' || isCommand(folded, CANCEL_WORDS))) {
      // "不用了" also answers a confirm step with no; a cancel word ends the flow either way.
      this.say(turn, 'flow.cancelled', frame, flow);
      turn.signals.push('cancelled');
      this.pop(turn);
      return true;
    }
    if (!tapped && (input.intent?.name === 'restart' || isCommand(folded, RESTART_WORDS))) {
      Object.assign(frame, {
        step: flow.steps[0]?.id ?? END,
        slots: {},
        vars: { text: frame.vars.text, query: frame.vars.query },
        attempts: 0,
        confirmed: undefined,
        pendingAction: undefined,
      });
      this.say(turn, 'flow.restarted', frame, flow);
      turn.signals.push('restarted');
      this.run(turn);
      return true;
    }
    if (frame.pendingAction) {
      turn.replies.push({ key: 'flow.pleaseWait', params: {} });
      return true;
    }

    const step = this.step(flow, frame.step);
    if (step.type === 'confirm') return this.onConfirm(turn, frame, flow, step, input, target);
    const switching =
      !tapped &&
      target !== undefined &&
      target.name !== frame.flow &&
      input.intent !== undefined &&
      maySwitchTopic(input.intent);
    if (switching) {
      this.switchTo(turn, target, input);
      return true;
    }
    const fillsStep = step.type === 'ask' && this.fillFromMessage(frame, flow, step.slots, input, true);
    if (step.type === 'ask') {
      if (fillsStep) {
        frame.attempts = 0;
        turn.signals.push('slot_filled');
        this.run(turn);
      } else if (!tapped && target && target.name !== frame.flow && input.intent) {
        // Not an answer to the question, and confidently about something else: switch topic.
        this.switchTo(turn, target, input);
      } else {
        this.failAttempt(turn, frame, flow, step.slots);
      }
      return true;
    }
    // A frame resting on any other step is waiting for nothing: run it on.
    this.run(turn);
    return true;
  }

  /**
   * A pending yes/no takes only a real yes or no: a tap, or a short reply that is nothing else
   * (lexicon.ts `yesOrNo`). Anything else is a new turn and the question is dropped: a question
   * that only asked for feedback ends quietly; one that guards an irreversible action is cancelled
   * (and said so) when the customer asks something else, and asked again when the reply merely
   * looks like an unclear answer ("hmm, maybe tomorrow").
   */
  private onConfirm(
    turn: Turn,
    frame: FlowFrame,
    flow: FlowDefinition,
    step: Extract<StepDefinition, { type: 'confirm' }>,
    input: Extract<TurnInput, { kind: 'message' }>,
    target: FlowDefinition | undefined,
  ): boolean {
    const tapped = input.choice !== undefined;
    const answer = confirmAnswer(input.choice) ?? (tapped ? undefined : yesOrNo(input.text.toLowerCase()));
    if (answer && step.feedback) turn.signals.push(answer === 'yes' ? 'helpful' : 'unhelpful');
    if (answer === 'yes') {
      frame.confirmed = step.yes;
      this.goto(turn, frame, step.yes);
      return true;
    }
    if (answer === 'no') {
      this.goto(turn, frame, step.no);
      return true;
    }
    const guarded = this.guardsIrreversible(flow, step);
    const elsewhere = target !== undefined && input.intent !== undefined && maySwitchTopic(input.intent);
    const folded = input.text.toLowerCase();
    const unclearAnswer =
      tapped || (!isQuestion(input.text) && !elsewhere && (startsWithYesOrNo(folded) || !target));
    if (guarded && unclearAnswer) {
      frame.attempts++;
      if (frame.attempts >= 3) {
        this.say(turn, 'flow.tooManyAttempts', frame, flow);
        turn.signals.push('slot_failed');
        this.pop(turn);
      } else {
        turn.signals.push('slot_invalid');
        turn.replies.push({ key: 'flow.yesOrNo', params: {} });
        this.say(turn, `flows.${flow.name}.${step.id}`, frame, flow, confirmChoices(step));
      }
      return true;
    }
    // The customer moved on: the question is dropped, and the message is a new turn. A flow
    // suspended below resumes once the new question is answered (FlowRuntime.resume).
    turn.stack.pop();
    if (guarded) {
      this.say(turn, 'flow.cancelled', frame, flow);
      turn.signals.push('cancelled');
    } else {
      turn.signals.push('completed');
    }
    if (!target) return false;
    if (turn.stack.length) this.switchTo(turn, target, input);
    else this.push(turn, target, input);
    return true;
  }

  /**
   * The waiting step's question again (its prompt and buttons), when something else was said in
   * between: a greeting, a button that no longer applies. Changes nothing.
   */
  reprompt(state: FlowState, language: Language): Reply[] {
    const turn = newTurn(state, { kind: 'message', text: '', language, entities: [], now: '' }, language);
    const frame = turn.stack.at(-1);
    if (!frame || frame.pendingAction || !this.flows.flows.has(frame.flow)) return [];
    this.run(turn, true);
    return turn.replies;
  }

  /**
   * A flow left waiting below a question the customer moved on from, back in front once that
   * question is answered: "Back to <its title>" and its question. Changes nothing.
   */
  resume(state: FlowState, language: Language): Reply[] {
    const frame = state.stack.at(-1);
    const flow = frame && this.flows.flows.get(frame.flow);
    if (!frame || !flow) return [];
    const again = this.reprompt(state, language);
    if (!again.length) return [];
    return [{ key: 'flow.resume', params: paramsOf(frame, flow.title[language]) }, ...again];
  }

  /**
   * The customer moved on from a yes/no question that guards nothing irreversible ("did that
   * help?"): that frame is dropped. Any other waiting question stays. Pure.
   */
  moveOn(state: FlowState): { state: FlowState; dropped: boolean } {
    const frame = state.stack.at(-1);
    const flow = frame && this.flows.flows.get(frame.flow);
    const step = flow?.steps.find((s) => s.id === frame?.step);
    if (
      !flow ||
      !step ||
      step.type !== 'confirm' ||
      frame?.pendingAction ||
      this.guardsIrreversible(flow, step)
    )
      return { state, dropped: false };
    return { state: { stack: state.stack.slice(0, -1) }, dropped: true };
  }

  /**
   * What the conversation waits for from the customer: the answer to a question (a slot, a
   * confirm), only a "did that help?" (`feedback: true` confirm), or nothing.
   */
  awaiting(state: FlowState): 'question' | 'feedback' | undefined {
    const frame = state.stack.at(-1);
    if (!frame || frame.pendingAction) return undefined;
    const step = this.flows.flows.get(frame.flow)?.steps.find((s) => s.id === frame.step);
    if (!step) return undefined;
    if (step.type === 'confirm') return step.feedback ? 'feedback' : 'question';
    return step.type === 'ask' ? 'question' : undefined;
  }

  /** The waiting step asks for a yes or no (with or without buttons). */
  awaitsYesOrNo(state: FlowState): boolean {
    const frame = state.stack.at(-1);
    const flow = frame && this.flows.flows.get(frame.flow);
    return !frame?.pendingAction && flow?.steps.find((s) => s.id === frame?.step)?.type === 'confirm';
  }

  private onActionResult(turn: Turn, input: Extract<TurnInput, { kind: 'action_result' }>): boolean {
    const frame = turn.stack.at(-1);
    if (!frame?.pendingAction || frame.pendingAction.id !== input.requestId) return false;
    const flow = this.definition(frame);
    const step = this.step(flow, frame.pendingAction.step);
    frame.pendingAction = undefined;
    frame.updatedAt = input.now;
    if (step.type !== 'action') return false;
    if (input.ok) {
      if (step.saveAs) frame.vars[step.saveAs] = input.data ?? {};
      this.goto(turn, frame, this.nextOf(flow, step));
      return true;
    }
    turn.signals.push('action_failed');
    if (step.onError) {
      this.goto(turn, frame, step.onError);
    } else {
      this.say(turn, 'flow.actionFailed', frame, flow);
      this.pop(turn);
    }
    return true;
  }

  private dropExpired(turn: Turn, now: string): void {
    const at = Date.parse(now);
    let expired = false;
    while (turn.stack.length) {
      const frame = turn.stack.at(-1) as FlowFrame;
      const flow = this.definition(frame);
      if (at - Date.parse(frame.updatedAt) <= flow.timeoutMinutes * 60_000) break;
      this.say(turn, 'flow.expired', frame, flow);
      turn.stack.pop();
      expired = true;
    }
    if (expired) turn.signals.push('expired');
  }

  private push(
    turn: Turn,
    flow: FlowDefinition,
    input: Extract<TurnInput, { kind: 'message' }>,
    vars: Record<string, unknown> = {},
  ): void {
    const frame: FlowFrame = {
      flow: flow.name,
      step: flow.steps[0]?.id ?? END,
      slots: {},
      vars: { ...vars, text: input.text, query: input.query ?? input.text },
      attempts: 0,
      actionCount: 0,
      startedAt: input.now,
      updatedAt: input.now,
    };
    // The message that starts a flow often carries its slots already ("where is AB12345678").
    this.fillFromMessage(
      frame,
      flow,
      flow.slots.map((s) => s.name),
      input,
      false,
    );
    turn.stack.push(frame);
    turn.signals.push('started');
    this.run(turn);
  }

  private switchTo(turn: Turn, target: FlowDefinition, input: Extract<TurnInput, { kind: 'message' }>): void {
    const existing = turn.stack.findIndex((f) => f.flow === target.name);
    if (existing >= 0) {
      // Back to a suspended flow: bring it up rather than starting it twice.
      const [frame] = turn.stack.splice(existing, 1) as [FlowFrame];
      turn.stack.push(frame);
      turn.signals.push('resumed');
      this.say(turn, 'flow.resume', frame, target);
      this.run(turn, true);
      return;
    }
    turn.signals.push('suspended');
    this.push(turn, target, input);
  }

  private pop(turn: Turn): void {
    turn.stack.pop();
    const below = turn.stack.at(-1);
    if (!below) return;
    below.updatedAt = turn.now;
    turn.signals.push('resumed');
    this.say(turn, 'flow.resume', below, this.definition(below));
    this.run(turn, true);
  }

  /** The confirm step's yes leads to an action that cannot be taken back: only yes or no will do. */
  private guardsIrreversible(
    flow: FlowDefinition,
    step: Extract<StepDefinition, { type: 'confirm' }>,
  ): boolean {
    const target = flow.steps.find((s) => s.id === step.yes);
    return target?.type === 'action' && this.flows.actions.get(target.action)?.irreversible !== false;
  }

  private step(flow: FlowDefinition, id: string): StepDefinition {
    const step = flow.steps.find((s) => s.id === id);
    if (!step) throw new Error(`flow ${flow.name} has no step ${id}`);
    return step;
  }

  private nextOf(flow: FlowDefinition, step: StepDefinition): string {
    if (step.type !== 'end' && step.next) return step.next;
    const index = flow.steps.indexOf(step);
    return flow.steps[index + 1]?.id ?? END;
  }

  private goto(turn: Turn, frame: FlowFrame, target: string): void {
    frame.attempts = 0;
    if (target === CANCEL) {
      const flow = this.definition(frame);
      this.say(turn, 'flow.cancelled', frame, flow);
      turn.signals.push('cancelled');
      this.pop(turn);
      return;
    }
    if (target === END) {
      turn.signals.push('completed');
      this.pop(turn);
      return;
    }
    frame.step = target;
    this.run(turn);
  }

  /** Execute steps until one waits for the customer or an action result, or the flow ends. */
  private run(turn: Turn, reprompt = false): void {
    const frame = turn.stack.at(-1);
    if (!frame) return;
    const flow = this.definition(frame);
    for (let guard = 0; guard < 100; guard++) {
      const step = this.step(flow, frame.step);
      switch (step.type) {
        case 'ask': {
          const missing = flow.slots.find((s) => s.name === nextMissingSlot(step.slots, frame.slots));
          if (missing) {
            this.askFor(turn, missing, frame, flow);
            return;
          }
          frame.step = this.nextOf(flow, step);
          break;
        }
        case 'confirm':
          this.say(turn, `flows.${flow.name}.${step.id}`, frame, flow, confirmChoices(step));
          return;
        case 'say':
          this.say(turn, `flows.${flow.name}.${step.id}`, frame, flow);
          frame.step = this.nextOf(flow, step);
          break;
        case 'branch': {
          const value = lookup(frame, step.on);
          frame.step = step.cases[String(value)] ?? step.default;
          break;
        }
        case 'action': {
          if (reprompt && frame.pendingAction) return;
          const spec = this.flows.actions.get(step.action);
          if (!spec || requiresConfirmation(spec, frame.confirmed, step.id)) {
            // Load-time checks make this unreachable for valid flows; refuse rather than act unconfirmed.
            this.say(turn, 'flow.notConfirmed', frame, flow);
            turn.signals.push('action_failed');
            this.pop(turn);
            return;
          }
          frame.confirmed = undefined;
          frame.actionCount++;
          const id = `${flow.name}:${step.id}:${frame.actionCount}`;
          const params = Object.fromEntries(Object.entries(step.params).map(([k, v]) => [k, fill(v, frame)]));
          turn.actions.push({
            id,
            action: step.action,
            params,
            irreversible: spec.irreversible,
            flow: flow.name,
            step: step.id,
          });
          frame.pendingAction = { id, step: step.id };
          return;
        }
        case 'end':
          if (step.message) this.say(turn, `flows.${flow.name}.${step.id}`, frame, flow);
          if (step.outcome === 'handoff') {
            // A person takes the conversation from here: suspended flows are not resumed.
            turn.signals.push('handoff');
            turn.stack.length = 0;
            return;
          }
          turn.signals.push('completed');
          this.pop(turn);
          return;
      }
      if (frame.step === END) {
        turn.signals.push('completed');
        this.pop(turn);
        return;
      }
      if (frame.step === CANCEL) {
        this.goto(turn, frame, CANCEL);
        return;
      }
    }
    throw new Error(`flow ${flow.name} loops without waiting for the customer`);
  }

  private failAttempt(turn: Turn, frame: FlowFrame, flow: FlowDefinition, slots: string[]): void {
    const missing = nextMissingSlot(slots, frame.slots) as string;
    const slot = flow.slots.find((s) => s.name === missing) as SlotDefinition;
    frame.attempts++;
    if (frame.attempts >= slot.maxAttempts) {
      this.say(turn, 'flow.tooManyAttempts', frame, flow);
      turn.signals.push('slot_failed');
      this.pop(turn);
      return;
    }
    turn.signals.push('slot_invalid');
    if (slot.invalid) this.say(turn, `flows.${flow.name}.slots.${slot.name}.invalid`, frame, flow);
    this.askFor(turn, slot, frame, flow);
  }

  /**
   * Fill slots from the message. `strict` (answering a question): the asked slot may take free
   * text; otherwise (prefill) only typed validators fill, and free text never does.
   * Returns true when the first missing slot of `names` got filled.
   */
  private fillFromMessage(
    frame: FlowFrame,
    flow: FlowDefinition,
    names: string[],
    input: Extract<TurnInput, { kind: 'message' }>,
    strict: boolean,
  ): boolean {
    const asked = nextMissingSlot(names, frame.slots);
    let filledAsked = false;
    for (const slot of flow.slots) {
      if (frame.slots[slot.name] !== undefined) continue;
      const isAsked = strict && slot.name === asked;
      const value = valueFor(slot, input, isAsked);
      if (value === undefined) continue;
      frame.slots[slot.name] = value;
      if (slot.name === asked) filledAsked = true;
    }
    // Other typed slots fill opportunistically too: "AB12345678, 电话 13812345678" answers two questions.
    return filledAsked;
  }
}

/** A command word counts in a short message only: "how do I exit the app?" is a question, not "exit". */
function isCommand(folded: string, words: { zh: string[]; en: string[] }): boolean {
  return Array.from(folded).length <= 20 && anyPhrase(folded, words) !== undefined;
}

function valueFor(
  slot: SlotDefinition,
  input: Extract<TurnInput, { kind: 'message' }>,
  asked: boolean,
): string | undefined {
  if (slot.entity) return input.entities.find((e) => e.type === slot.entity)?.value;
  if (slot.pattern) {
    const match = new RegExp(slot.pattern, 'iu').exec(input.text);
    return match ? (match.groups?.value ?? match[0]) : undefined;
  }
  if (slot.choices) {
    const tapped = asked ? tappedValue(slot, input.choice) : undefined;
    if (tapped !== undefined) return tapped;
    const folded = input.text.toLowerCase();
    const named = slot.choices.filter((c) =>
      [...c.words.zh, ...c.words.en, c.value].some((w) => containsPhrase(folded, w.toLowerCase())),
    );
    // "退换货" names both: ask rather than pick one.
    return named.length === 1 ? named[0]?.value : undefined;
  }
  if (slot.freeText && asked) {
    const text = input.text.trim();
    return Array.from(text).length >= slot.minLength && !yesOrNo(text.toLowerCase()) ? text : undefined;
  }
  return undefined;
}

/** A turn works on a copy of the stack, so a caller's state is never changed in place. */
function newTurn(state: FlowState, input: TurnInput, language: Language): Turn {
  return {
    stack: state.stack.map((f) => structuredClone(f)),
    replies: [],
    actions: [],
    signals: [],
    now: input.now,
    input,
    language,
  };
}
