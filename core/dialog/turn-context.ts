import type {
  Citation,
  DialogProgress,
  DialogState,
  InboundEvent,
  ModelRelease,
  OutboundMessage,
} from '../types';
import type { ActionContext, ActionRequest } from './flows/actions';
import type { Reply } from './flows/messages';
import type { FlowSignal } from './flows/runtime';
import { progressOf } from './handoff';
import type { IntentResult } from './intent/recognizer';
import type { Language } from './language';
import type { Decision } from './policy/policy';
import type { Preprocessed } from './preprocess';

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
  /** The knowledge passages the answer action retrieved, best first (for the audit record). */
  retrieved: Array<{ id: string; score: number }>;
  /** The model release that wrote the answer; absent for extractive and flow replies. */
  model?: ModelRelease;
  /** Content-safety hits of the turn (core/safety): where, which category, what it did. */
  safety: Array<{ stage: string; category: string; word?: string; action: string }>;
  /** The answer action found nothing to say: the customer was told "I don't know". */
  unanswered?: boolean;
  /** Why an answer the model should have written was extracted instead (circuit_open, error, timeout, budget). */
  llmFallback?: string;
  /** What the conversation waits for after the turn: a question's answer, or only "did that help?". */
  awaiting?: 'question' | 'feedback';
  /** The satisfaction survey: asked this turn, or answered (core/dialog/survey.ts). */
  survey?: { asked?: CsatScale; answered?: { scale: CsatScale; score: number } };
}

export type CsatScale = 'thumbs' | '1-5';

/**
 * One turn as it passes through the stages (core/dialog/stages): what arrived, the state it
 * changes, what each stage found out, and the replies so far. The render stage turns it into
 * outbound messages.
 */
export interface TurnContext {
  readonly event: InboundEvent;
  /** The conversation's state as loaded, before this turn. */
  readonly previous: DialogState;
  /** The next state: stages change it in place; the caller saves it. */
  readonly state: DialogState;
  /** `state.dialog`: flows in progress, failure counters, handoff times. */
  readonly progress: DialogProgress;
  readonly now: Date;
  /** The language to answer in: the conversation's, then the message's once preprocessed. */
  language: Language;
  /** The text the turn reads: the message, or the title of the button the customer tapped. */
  raw?: string;
  pre?: Preprocessed;
  /** The id of the offered choice the customer tapped or named by its number. */
  choice?: string;
  trace: TurnTrace;
  replies: Reply[];
  citations: Citation[];
  source: NonNullable<OutboundMessage['source']>;
  /** The LLM answer so far, as it streams. */
  onDraft?: (textSoFar: string) => void;
  /** A streamed draft failed the output check: the answer is replaced by the fixed refusal. */
  draftBlocked?: boolean;
  /** The texts the answer action produced this turn (the safety stage looks for them in the replies). */
  answers: string[];
  /** Set by the render stage. */
  outbound: OutboundMessage[];
}

/** Recently handled inbound event ids kept in the state (a redelivery among them is answered once). */
export const HANDLED_IDS_KEPT = 200;

export function createTurnContext(
  event: InboundEvent,
  previous: DialogState,
  now: Date,
  onDraft?: (textSoFar: string) => void,
): TurnContext {
  const state: DialogState = {
    ...previous,
    slots: { ...previous.slots },
    dialog: previous.dialog && structuredClone(previous.dialog),
    handledEventIds: [...previous.handledEventIds, event.id].slice(-HANDLED_IDS_KEPT),
    updatedAt: now.toISOString(),
  };
  return {
    event,
    previous,
    state,
    progress: progressOf(state),
    now,
    language: previous.locale === 'zh' ? 'zh' : 'en',
    trace: { actions: [], signals: [], replyKeys: [], texts: [], retrieved: [], safety: [] },
    replies: [],
    citations: [],
    source: 'flow',
    onDraft,
    answers: [],
    outbound: [],
  };
}

export const isoNow = (turn: TurnContext) => turn.now.toISOString();

/** What every action of this turn is run with: the conversation, its language, the message and the clock. */
export function actionContextOf(
  turn: TurnContext,
): Pick<ActionContext, 'conversationKey' | 'language' | 'tenant' | 'event' | 'state' | 'now'> {
  return {
    conversationKey: turn.state.conversationKey,
    language: turn.language,
    tenant: turn.event.ref.tenant,
    event: turn.event,
    state: turn.state,
    now: isoNow(turn),
  };
}

export function sayText(turn: TurnContext, text: string): void {
  turn.replies.push({ key: 'policy.text', params: { text } });
}
