import type { TicketRequest } from '../tickets/outbox';
import type { InboundEvent } from '../types';
import type { ParsedUpdate } from './payload';

/**
 * The bus event for one helpdesk change: `ref` is the customer's conversation the ticket was
 * opened from, `sender` the agent. Raw helpdesk payloads are not kept: they hold customer data the
 * event does not need.
 */
export function handoffEvent(parsed: ParsedUpdate, request: TicketRequest, source: string): InboundEvent {
  const { update } = parsed;
  return {
    id: parsed.eventId,
    kind: 'handoff',
    ref: request.draft.conversation,
    sender: {
      id: `agent:${parsed.agentId ?? update.agentName ?? 'unknown'}`,
      ...(update.agentName ? { name: update.agentName } : {}),
    },
    receivedAt: new Date().toISOString(),
    ...(update.text ? { text: update.text } : {}),
    ...(request.draft.locale ? { locale: request.draft.locale } : {}),
    handoff: update,
    channelData: { helpdesk: { source, requestId: request.id, ticketUrl: request.externalUrl } },
  };
}
