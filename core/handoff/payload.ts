import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { HandoffUpdate } from '../types';

/**
 * The JSON a helpdesk sends to /webhooks/helpdesk/<zendesk|generic>: one change to one ticket.
 * Zendesk fills it from trigger placeholders, which render unset values as "" and numbers as
 * strings; both are accepted. The README shows the Zendesk body template.
 */
const text = z.union([z.string(), z.number()]).transform((value) => String(value).trim());
const optionalText = text.optional().transform((value) => value || undefined);
const flag = z
  .union([z.boolean(), z.enum(['true', 'false'])])
  .transform((value) => value === true || value === 'true');

export const helpdeskPayloadSchema = z.object({
  /** reply (alias comment): a new comment; assigned: an agent took the ticket; status: see ticket.status. */
  event: z.enum(['reply', 'comment', 'assigned', 'status', 'solved', 'closed']),
  /** A stable id of this change in the helpdesk (RT transaction id, ...); derived when absent. */
  id: optionalText,
  /** Generic receiver only: the ticketing adapter that opened the ticket; the configured driver by default. */
  adapter: optionalText,
  ticket: z.object({
    id: text.pipe(z.string().min(1, 'ticket.id is empty')),
    /** The hub's reference (HUB-...), which the Zendesk and RT adapters store on the ticket. */
    external_id: optionalText,
    status: optionalText,
    updated_at: optionalText,
    assignee: z.object({ id: optionalText, name: optionalText }).optional(),
  }),
  comment: z
    .object({
      id: optionalText,
      public: flag,
      body: z.string().default(''),
      author: z.object({ id: optionalText, name: optionalText, role: optionalText }).optional(),
      created_at: optionalText,
    })
    .optional(),
});

export type HelpdeskPayload = z.infer<typeof helpdeskPayloadSchema>;

export interface ParsedUpdate {
  update: HandoffUpdate;
  agentId?: string;
  /** The hub's request id when the helpdesk sent it (fallback look-up). */
  hubReference?: string;
  /** Stable across the helpdesk's retries of the same change: the bus dedupes on it. */
  eventId: string;
}

export type Interpretation = ParsedUpdate | { ignored: string };

const CUSTOMER_ROLES = new Set(['end-user', 'end_user', 'enduser', 'customer', 'requester']);

/** What a payload means for the customer's conversation, or why it means nothing. */
export function interpret(payload: HelpdeskPayload, adapter: string): Interpretation {
  const ticketId = payload.ticket.id;
  const hubReference = payload.ticket.external_id;
  const make = (
    change: HandoffUpdate['change'],
    key: string,
    agent: { id?: string; name?: string },
    extra: { text?: string } = {},
  ): ParsedUpdate => ({
    update: { change, adapter, ticketId, ...extra, ...(agent.name ? { agentName: agent.name } : {}) },
    agentId: agent.id,
    hubReference,
    eventId: handoffEventId(adapter, ticketId, change, payload.id ?? key),
  });

  switch (payload.event) {
    case 'reply':
    case 'comment': {
      const comment = payload.comment;
      const body = comment?.body.trim();
      if (!comment || !body) return { ignored: 'empty_comment' };
      // An internal note is for agents only: it never reaches the customer.
      if (!comment.public) return { ignored: 'internal_note' };
      if (comment.author?.role && CUSTOMER_ROLES.has(comment.author.role.toLowerCase())) {
        return { ignored: 'customer_comment' };
      }
      const key = comment.id ?? digest([ticketId, comment.created_at ?? '', comment.author?.id ?? '', body]);
      return make('reply', key, comment.author ?? {}, { text: body });
    }
    case 'assigned': {
      const assignee = payload.ticket.assignee;
      if (!assignee?.id && !assignee?.name) return { ignored: 'no_assignee' };
      const who = assignee.id ?? assignee.name ?? '';
      return make('assigned', `${who}@${payload.ticket.updated_at ?? 'unknown'}`, assignee);
    }
    default: {
      const status = payload.event === 'status' ? payload.ticket.status?.toLowerCase() : payload.event;
      if (status !== 'solved' && status !== 'closed')
        return { ignored: `status_${(status ?? 'missing').slice(0, 24)}` };
      const key = payload.ticket.updated_at ?? digest([ticketId, status]);
      return make(status, key, payload.ticket.assignee ?? {});
    }
  }
}

/** `helpdesk:<adapter>:<ticket>:<change>:<key>`, the key hashed when long or odd. */
export function handoffEventId(adapter: string, ticketId: string, change: string, key: string): string {
  const safeKey = /^[\w.@:+-]{1,80}$/.test(key) ? key : digest([key]);
  return `helpdesk:${adapter}:${ticketId}:${change}:${safeKey}`;
}

function digest(parts: string[]): string {
  return createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 24);
}
