import {
  type AdapterCallContext,
  AdapterError,
  AdapterErrorCodes,
  type Ticket,
  type TicketComment,
  type TicketDraft,
  type TicketingAdapter,
  type TicketPriority,
  type TicketRef,
  type TicketStatus,
} from '../../../core/types';
import { basicAuth, type JsonCall, jsonCaller, unlessNotFound } from '../../http';
import { describeTicket } from '../describe';
import { hubIdempotencyTag } from '../shared';

export interface FreshdeskOptions {
  /** https://<domain>.freshdesk.com (an emulator's URL in tests). */
  baseUrl: string;
  apiKey: string;
  timeoutMs: number;
  /** Freshdesk ticket source (7 chat). */
  source?: number;
  groupId?: number;
  typeByCategory?: Record<string, string>;
  customFields?: Record<string, string | number | boolean>;
  /** How far back the look-up before create lists recently updated tickets. */
  recentWindowMs?: number;
  now?: () => number;
}

interface FreshdeskTicket {
  id: number;
  subject: string;
  status: number;
  priority: number;
  tags?: string[];
  description_text?: string;
  created_at: string;
}

export interface FreshdeskAgent {
  id: number;
  contact?: { name?: string; email?: string };
}

interface FreshdeskConversation {
  body_text: string;
  private: boolean;
  incoming: boolean;
  created_at: string;
}

const PRIORITY: Record<TicketPriority, number> = { low: 1, normal: 2, high: 3, urgent: 4 };
const FROM_PRIORITY: Record<number, TicketPriority> = { 1: 'low', 2: 'normal', 3: 'high', 4: 'urgent' };
// Freshdesk has no "new": a fresh ticket is Open (2).
const TO_STATUS: Record<TicketStatus, number> = { new: 2, open: 2, pending: 3, solved: 4, closed: 5 };
const FROM_STATUS: Record<number, TicketStatus> = { 2: 'open', 3: 'pending', 4: 'solved', 5: 'closed' };
const PAGE = 100;
const MAX_RECENT_PAGES = 3;

/** The tag that marks the ticket of one hub request: Freshdesk has no idempotency header or external id. */
export function freshdeskIdempotencyTag(key: string): string {
  return hubIdempotencyTag(key);
}

/**
 * Freshdesk API v2. Freshdesk takes no idempotency key, so each ticket carries a tag derived from
 * the hub's request id, looked up before creating: first among recently updated tickets (the list
 * endpoint reads the database), then through the search API (which covers older tickets but
 * indexes new ones only after a few minutes).
 */
export class FreshdeskTicketing implements TicketingAdapter {
  readonly name = 'freshdesk';
  private readonly base: string;
  private readonly call: JsonCall;
  private readonly now: () => number;

  constructor(private readonly options: FreshdeskOptions) {
    this.base = options.baseUrl.replace(/\/+$/, '');
    this.call = jsonCaller('Freshdesk', this.base, basicAuth(options.apiKey, 'X'), options.timeoutMs);
    this.now = options.now ?? Date.now;
  }

  async createTicket(draft: TicketDraft, ctx: AdapterCallContext): Promise<TicketRef> {
    const tag = freshdeskIdempotencyTag(ctx.idempotencyKey);
    const existing = await this.findByTag(tag, ctx);
    if (existing) return this.refOf(existing.id);
    const type = this.options.typeByCategory?.[draft.category];
    const { body } = await this.call<FreshdeskTicket>('POST', '/api/v2/tickets', ctx, {
      subject: draft.subject.slice(0, 255),
      description: toHtml(describeTicket(draft)),
      status: TO_STATUS.open,
      priority: PRIORITY[draft.priority],
      source: this.options.source ?? 7,
      tags: [...new Set([...draft.tags.map(toFreshdeskTag), tag])],
      ...requesterOf(draft),
      ...(this.options.groupId ? { group_id: this.options.groupId } : {}),
      ...(type ? { type } : {}),
      ...this.customFieldsOf(draft),
    });
    return this.refOf(body.id);
  }

  async addComment(externalId: string, comment: TicketComment, ctx: AdapterCallContext): Promise<void> {
    const id = ticketId(externalId);
    // A reply reaches the requester by e-mail; a private note stays with the agents.
    if (comment.public) {
      await this.call('POST', `/api/v2/tickets/${id}/reply`, ctx, { body: toHtml(comment.text) });
    } else {
      await this.call('POST', `/api/v2/tickets/${id}/notes`, ctx, {
        body: toHtml(comment.text),
        private: true,
      });
    }
  }

  async getTicket(externalId: string, ctx: AdapterCallContext): Promise<Ticket | undefined> {
    if (!/^\d+$/.test(externalId)) return undefined;
    const found = await unlessNotFound(() =>
      this.call<FreshdeskTicket>('GET', `/api/v2/tickets/${externalId}`, ctx),
    );
    if (!found) return undefined;
    const ticket = found.body;
    const conversations: FreshdeskConversation[] = [];
    for (let page = 1; page <= 10; page += 1) {
      const { body } = await this.call<FreshdeskConversation[]>(
        'GET',
        `/api/v2/tickets/${externalId}/conversations?per_page=${PAGE}&page=${page}`,
        ctx,
      );
      conversations.push(...body);
      if (body.length < PAGE) break;
    }
    return {
      ...this.refOf(ticket.id),
      subject: ticket.subject,
      status: FROM_STATUS[ticket.status] ?? 'pending',
      priority: FROM_PRIORITY[ticket.priority],
      tags: ticket.tags ?? [],
      comments: [
        // The description the hub wrote; the requester sees it on the portal.
        { author: 'bot', text: ticket.description_text ?? '', public: true, at: ticket.created_at },
        ...conversations.map(
          (c): TicketComment => ({
            author: c.incoming ? 'customer' : 'agent',
            text: c.body_text,
            public: !c.private,
            at: c.created_at,
          }),
        ),
      ],
    };
  }

  async setStatus(externalId: string, status: TicketStatus, ctx: AdapterCallContext): Promise<void> {
    const code = TO_STATUS[status];
    if (code === undefined) {
      throw new AdapterError(AdapterErrorCodes.invalid, `Freshdesk: unknown ticket status "${status}"`, {
        status: 400,
      });
    }
    await this.call('PUT', `/api/v2/tickets/${ticketId(externalId)}`, ctx, { status: code });
  }

  private async findByTag(tag: string, ctx: AdapterCallContext): Promise<FreshdeskTicket | undefined> {
    const since = new Date(this.now() - (this.options.recentWindowMs ?? 3_600_000)).toISOString();
    for (let page = 1; page <= MAX_RECENT_PAGES; page += 1) {
      const query = new URLSearchParams({
        updated_since: since,
        order_by: 'created_at',
        order_type: 'desc',
        per_page: String(PAGE),
        page: String(page),
      });
      const { body } = await this.call<FreshdeskTicket[]>('GET', `/api/v2/tickets?${query}`, ctx);
      const found = body.find((t) => t.tags?.includes(tag));
      if (found) return found;
      if (body.length < PAGE) break;
    }
    // The search query is a double-quoted string; the tag holds only [a-z0-9-].
    const { body } = await this.call<{ results: FreshdeskTicket[] }>(
      'GET',
      `/api/v2/search/tickets?query=${encodeURIComponent(`"tag:'${tag}'"`)}`,
      ctx,
    );
    return body.results.find((t) => t.tags?.includes(tag) ?? true);
  }

  private customFieldsOf(draft: TicketDraft): { custom_fields?: Record<string, string | number | boolean> } {
    const entries = Object.entries(this.options.customFields ?? {});
    if (entries.length === 0) return {};
    return {
      custom_fields: Object.fromEntries(
        entries.map(([field, value]) => [
          field,
          typeof value === 'string'
            ? value.replaceAll('{category}', draft.category).replaceAll('{priority}', draft.priority)
            : value,
        ]),
      ),
    };
  }

  /** The agent whose API key this is. */
  async currentAgent(ctx: AdapterCallContext): Promise<FreshdeskAgent> {
    return (await this.call<FreshdeskAgent>('GET', '/api/v2/agents/me', ctx)).body;
  }

  private refOf(id: number): TicketRef {
    return { externalId: String(id), url: `${this.base}/a/tickets/${id}` };
  }
}

function ticketId(externalId: string): string {
  if (!/^\d+$/.test(externalId)) {
    throw new AdapterError(
      AdapterErrorCodes.notFound,
      `Freshdesk ticket ids are numbers, not "${externalId}"`,
      {
        status: 404,
      },
    );
  }
  return externalId;
}

/** Freshdesk bodies are HTML: escape the text and keep its line breaks. */
export function toHtml(text: string): string {
  const escaped = text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;');
  return `<div>${escaped.replaceAll('\n', '<br>')}</div>`;
}

/** Tags hold no commas and at most 32 characters. */
function toFreshdeskTag(tag: string): string {
  return tag.replaceAll(',', ' ').trim().slice(0, 32);
}

/** Freshdesk needs one requester identifier: e-mail, else phone (with a name), else an external id. */
function requesterOf(draft: TicketDraft): Record<string, string> {
  const name = draft.customer.name ?? `${draft.customer.channel} customer`;
  if (draft.customer.email) return { email: draft.customer.email, name };
  if (draft.customer.phone) return { phone: draft.customer.phone, name };
  return {
    unique_external_id: `hub:${draft.customer.channel}:${draft.customer.tenant}:${draft.customer.userId}`,
    name,
  };
}
