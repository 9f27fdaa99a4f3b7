import type { TicketDraft } from '../../core/types';

/**
 * The ticket's first comment, as plain text every helpdesk renders: summary, customer, facts the
 * bot gathered, then the transcript. An agent can act on it without opening the hub.
 */
export function describeTicket(draft: TicketDraft): string {
  const who = [draft.customer.name, draft.customer.email, draft.customer.phone].filter(Boolean).join(', ');
  const facts = [
    draft.intent ? `Intent: ${draft.intent}` : undefined,
    ...Object.entries(draft.slots).map(([key, value]) => `Slot ${key}: ${formatValue(value)}`),
    ...Object.entries(draft.entities).map(([kind, values]) => `Entity ${kind}: ${values.join(', ')}`),
  ].filter((line): line is string => Boolean(line));
  const transcript = draft.transcript.map((line) => `[${line.at}] ${line.role}: ${line.text}`);
  return [
    draft.summary,
    '',
    `Customer: ${who || draft.customer.userId} (channel ${draft.customer.channel}, user ${draft.customer.userId})`,
    `Conversation: ${draft.conversationUrl ?? draft.conversationKey}`,
    `Priority: ${draft.priority}  Category: ${draft.category}`,
    ...(facts.length ? ['', ...facts] : []),
    '',
    'Transcript:',
    ...transcript,
  ].join('\n');
}

function formatValue(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}
