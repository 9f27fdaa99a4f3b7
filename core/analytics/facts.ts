import type { TurnTrace } from '../dialog/turn-context';
import { conversationKey, type DialogState, type InboundEvent, type OutboundMessage } from '../types';

/**
 * The business facts of one turn, from what the engine already traced for the turn's audit record
 * (intent, decision, the answer action's outcome, flow signals): ids, enums and numbers, no text.
 */
export interface TurnFact {
  eventId: string;
  /**
   * The conversation key (channel, tenant, platform conversation id): never stored, only its keyed
   * pseudonym (AnalyticsStore), since a platform id can be a phone number.
   */
  conversationKey: string;
  tenant: string;
  channel: string;
  /** A customer's message or tap; false for a helpdesk update (an agent's reply, solved, ...). */
  customer: boolean;
  language?: string;
  intent?: string;
  /** The intent's confidence (for the histogram on /metrics; the table keeps only its bucket). */
  confidence?: number;
  /** The intent's confidence in tenths: 0 is [0, 0.1), 9 is [0.9, 1]. */
  confidenceBucket?: number;
  /** `answer`, `flow`, `handoff:<reason>`, `wait`, `silent`. */
  decision?: string;
  /** The knowledge base was asked (the answer action ran). */
  answerRan: boolean;
  /** It had nothing: the customer was told "I don't know". */
  unanswered: boolean;
  /** Why a model answer was extracted instead: circuit_open, error, timeout, budget. */
  llmFallback?: string;
  /** The customer's answer to "did that help?". */
  feedback?: 'helpful' | 'unhelpful';
  /** The satisfaction rating the customer gave this turn, 1–5 (thumbs: 5 up, 1 down). */
  csat?: { score: number; scale: string };
  surveyAsked: boolean;
  /** The turn gave the conversation to a person (the bot owned it before, a person is awaited or in charge after). */
  handoff: boolean;
  /** The turn before was with the bot (a new conversation starts only from there). */
  withBotBefore: boolean;
  awaiting?: 'question' | 'feedback';
  replies: number;
  /** The worker's time on the turn, from taking the event to its replies stored (as the audit record's). */
  latencyMs?: number;
  /** When the customer's message arrived. */
  at: Date;
}

export function confidenceBucket(confidence: number): number {
  return Math.min(9, Math.max(0, Math.floor(confidence * 10)));
}

/** The facts of a turn, beside its audit record (core/dialog/turn-audit.ts); no trace for a turn completed from stored replies. */
export function turnFact(
  event: InboundEvent,
  replies: readonly OutboundMessage[],
  before: DialogState,
  after: DialogState,
  trace?: TurnTrace,
): TurnFact {
  const intent = trace?.intent;
  const decision = trace?.decision;
  const feedback = trace?.signals.includes('helpful')
    ? 'helpful'
    : trace?.signals.includes('unhelpful')
      ? 'unhelpful'
      : undefined;
  const answered = trace?.survey?.answered;
  const at = Date.parse(event.receivedAt);
  return {
    eventId: event.id,
    conversationKey: conversationKey(event.ref),
    tenant: event.ref.tenant,
    channel: event.ref.channel,
    customer: event.kind === 'message' || event.kind === 'action',
    ...(replies[0]?.locale || after.locale ? { language: replies[0]?.locale ?? after.locale } : {}),
    ...(intent
      ? {
          intent: intent.name,
          confidence: intent.confidence,
          confidenceBucket: confidenceBucket(intent.confidence),
        }
      : {}),
    ...(decision
      ? { decision: decision.type === 'handoff' ? `handoff:${decision.reason}` : decision.type }
      : {}),
    answerRan: trace?.actions.some((action) => action.action === 'answer') ?? false,
    unanswered: trace?.unanswered ?? false,
    ...(trace?.llmFallback ? { llmFallback: trace.llmFallback } : {}),
    ...(feedback ? { feedback } : {}),
    ...(answered ? { csat: { score: answered.score, scale: answered.scale } } : {}),
    surveyAsked: trace?.survey?.asked !== undefined,
    handoff: before.handoff === 'bot' && after.handoff !== 'bot',
    withBotBefore: before.handoff === 'bot',
    ...(trace?.awaiting ? { awaiting: trace.awaiting } : {}),
    replies: replies.length,
    at: Number.isFinite(at) ? new Date(at) : new Date(),
  };
}
