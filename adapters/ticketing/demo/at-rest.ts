import type { AtRest } from '../../../core/privacy/at-rest';
import type { TicketDraft } from '../../../core/types';

/**
 * The embedded helpdesk's tables hold what the customer wrote: subject, draft and comment text are
 * sealed like the hub's own (core/privacy/at-rest.ts). A ticket is bound by its idempotency key
 * (known before the insert); a comment by its ticket, whose id the insert already knows.
 */
const subject = (reference: string) => ({ table: 'demo_tickets', column: 'subject', row: reference });
const draft = (reference: string) => ({ table: 'demo_tickets', column: 'draft', row: reference });
const commentText = (ticketId: string) => ({
  table: 'demo_ticket_comments',
  column: 'text',
  row: String(ticketId),
});

export function sealTicket(
  atRest: AtRest,
  reference: string,
  ticket: { subject: string; draft: TicketDraft },
): { subject: string; draft: string } {
  return {
    subject: atRest.seal(ticket.subject, subject(reference)),
    draft: atRest.sealJson(JSON.stringify(ticket.draft), draft(reference)),
  };
}

export function openSubject(atRest: AtRest, row: { idempotency_key: string; subject: string }): string {
  return atRest.open(row.subject, subject(row.idempotency_key));
}

export function openDraft(atRest: AtRest, row: { idempotency_key: string; draft: unknown }): TicketDraft {
  return atRest.openJson<TicketDraft>(row.draft, draft(row.idempotency_key));
}

export function sealComment(atRest: AtRest, ticketId: string, text: string): string {
  return atRest.seal(text, commentText(ticketId));
}

export function openComment(atRest: AtRest, row: { ticket_id: string; text: string }): string {
  return atRest.open(row.text, commentText(row.ticket_id));
}
