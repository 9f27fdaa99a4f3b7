import type { TurnAuditRecord } from '../security/audit';
import { conversationKey, type InboundEvent, type OutboundMessage } from '../types';
import type { Decision } from './policy/policy';
import type { TurnTrace } from './turn-context';

/** The audit record of one turn, from what the engine traced (absent when a turn is completed from stored replies). */
export function turnAuditRecord(
  event: InboundEvent,
  replies: OutboundMessage[],
  startedAt: number,
  trace?: TurnTrace,
): TurnAuditRecord {
  const citations = [
    ...new Set(replies.flatMap((reply) => reply.citations?.map((citation) => citation.id) ?? [])),
  ];
  const source = replies.find((reply) => reply.source)?.source;
  return {
    eventId: event.id,
    conversationKey: conversationKey(event.ref),
    channel: event.ref.channel,
    tenant: event.ref.tenant,
    ...(trace?.intent
      ? { intent: { name: trace.intent.name, confidence: trace.intent.confidence, tier: trace.intent.tier } }
      : {}),
    ...(trace?.decision ? { decision: describeDecision(trace.decision) } : {}),
    retrieved: trace?.retrieved ?? [],
    ...(trace?.model ? { model: `${trace.model.model}@${trace.model.version}` } : {}),
    actions: trace?.actions.map((request) => request.action) ?? [],
    citations,
    ...(source ? { source } : {}),
    replies: replies.map((reply) => reply.id),
    latencyMs: Date.now() - startedAt,
    outcome: trace === undefined ? 'recovered' : replies.length > 0 ? 'answered' : 'silent',
  };
}

function describeDecision(decision: Decision): string {
  return decision.type === 'handoff' ? `handoff:${decision.reason}` : decision.type;
}
