import type {
  AdapterCallContext,
  Ticket,
  TicketComment,
  TicketDraft,
  TicketingAdapter,
  TicketPriority,
  TicketRef,
  TicketStatus,
} from '../../../core/types';
import { basicAuth, requestJson, unlessNotFound } from '../../http';
import { describeTicket } from '../describe';

export interface ZendeskOptions {
  /** https://<subdomain>.zendesk.com (an emulator's URL in tests). */
  baseUrl: string;
  email: string;
  apiToken: string;
  timeoutMs: number;
}

interface ZendeskTicket {
  id: number;
  subject: string;
  status: string;
  priority: string | null;
  tags: string[];
  external_id: string | null;
}

export interface ZendeskUser {
  id: number | null;
  name?: string;
  email?: string | null;
  /** end-user, agent or admin. */
  role?: string;
}

interface ZendeskComment {
  body: string;
  public: boolean;
  author_id: number;
  created_at: string;
}

/**
 * Zendesk Support Tickets API. Creation is made idempotent twice over: the request carries an
 * `Idempotency-Key` header (Zendesk replays the first response for 2 hours) and the ticket's
 * `external_id` is the hub's request id, looked up before creating, which holds for ever.
 */
export class ZendeskTicketing implements TicketingAdapter {
  readonly name = 'zendesk';
  private readonly base: string;
  private readonly authorization: string;

  constructor(private readonly options: ZendeskOptions) {
    this.base = options.baseUrl.replace(/\/+$/, '');
    this.authorization = basicAuth(`${options.email}/token`, options.apiToken);
  }

  async createTicket(draft: TicketDraft, ctx: AdapterCallContext): Promise<TicketRef> {
    const existing = await this.findByExternalId(ctx.idempotencyKey, ctx);
    if (existing) return this.refOf(existing.id);
    const { body } = await this.call<{ ticket: ZendeskTicket }>('POST', '/api/v2/tickets', ctx, {
      body: {
        ticket: {
          subject: draft.subject,
          comment: { body: describeTicket(draft), public: false },
          external_id: ctx.idempotencyKey,
          priority: draft.priority,
          tags: draft.tags.map(toZendeskTag),
          requester: requesterOf(draft),
        },
      },
      headers: { 'idempotency-key': ctx.idempotencyKey },
    });
    return this.refOf(body.ticket.id);
  }

  async addComment(externalId: string, comment: TicketComment, ctx: AdapterCallContext): Promise<void> {
    await this.call('PUT', `/api/v2/tickets/${encodeURIComponent(externalId)}`, ctx, {
      body: { ticket: { comment: { body: comment.text, public: comment.public } } },
    });
  }

  async getTicket(externalId: string, ctx: AdapterCallContext): Promise<Ticket | undefined> {
    const id = encodeURIComponent(externalId);
    const found = await unlessNotFound(() =>
      this.call<{ ticket: ZendeskTicket }>('GET', `/api/v2/tickets/${id}`, ctx),
    );
    if (!found) return undefined;
    const ticket = found.body.ticket;
    const { body } = await this.call<{ comments: ZendeskComment[] }>(
      'GET',
      `/api/v2/tickets/${id}/comments`,
      ctx,
    );
    return {
      ...this.refOf(ticket.id),
      subject: ticket.subject,
      status: ticket.status === 'hold' ? 'pending' : (ticket.status as TicketStatus),
      priority: (ticket.priority ?? undefined) as TicketPriority | undefined,
      tags: ticket.tags,
      comments: body.comments.map((c, index) => ({
        // The first comment is the description the hub wrote; later ones are from agents or the hub.
        author: index === 0 ? 'bot' : 'agent',
        text: c.body,
        public: c.public,
        at: c.created_at,
      })),
    };
  }

  async setStatus(externalId: string, status: TicketStatus, ctx: AdapterCallContext): Promise<void> {
    await this.call('PUT', `/api/v2/tickets/${encodeURIComponent(externalId)}`, ctx, {
      body: { ticket: { status } },
    });
  }

  /** The user the credentials authenticate; Zendesk answers an anonymous user (id null) when it did not accept them. */
  async currentUser(ctx: AdapterCallContext): Promise<ZendeskUser> {
    const { body } = await this.call<{ user: ZendeskUser }>('GET', '/api/v2/users/me', ctx);
    return body.user;
  }

  private async findByExternalId(key: string, ctx: AdapterCallContext): Promise<ZendeskTicket | undefined> {
    const { body } = await this.call<{ tickets: ZendeskTicket[] }>(
      'GET',
      `/api/v2/tickets?external_id=${encodeURIComponent(key)}`,
      ctx,
    );
    return body.tickets.find((t) => t.external_id === key);
  }

  private refOf(id: number): TicketRef {
    return { externalId: String(id), url: `${this.base}/agent/tickets/${id}` };
  }

  private call<T>(
    method: string,
    path: string,
    ctx: AdapterCallContext,
    extra: { body?: unknown; headers?: Record<string, string> } = {},
  ) {
    return requestJson<T>('Zendesk', `${this.base}${path}`, {
      method,
      body: extra.body,
      headers: { authorization: this.authorization, ...extra.headers },
      signal: ctx.signal,
      timeoutMs: this.options.timeoutMs,
    });
  }
}

/** Zendesk tags are lower-case words without spaces. */
function toZendeskTag(tag: string): string {
  return tag.toLowerCase().replace(/[^a-z0-9_:-]+/g, '_');
}

function requesterOf(draft: TicketDraft): { name: string; email?: string } | undefined {
  const name = draft.customer.name ?? `${draft.customer.channel} user`;
  return draft.customer.email ? { name, email: draft.customer.email } : undefined;
}
