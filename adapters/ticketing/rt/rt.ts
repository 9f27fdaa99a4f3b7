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
import { basicAuth, type JsonCall, jsonCaller, unlessNotFound } from '../../http';
import { describeTicket } from '../describe';

export interface RtOptions {
  /** RT's web root; REST2 is under /REST/2.0/. */
  baseUrl: string;
  token?: string;
  username?: string;
  password?: string;
  queue: string;
  timeoutMs: number;
}

interface RtTransaction {
  id: string;
  Type: string;
  Created: string;
  Creator?: { id: string };
}

const PRIORITY: Record<TicketPriority, number> = { low: 10, normal: 50, high: 80, urgent: 100 };
const TO_RT_STATUS: Record<TicketStatus, string> = {
  new: 'new',
  open: 'open',
  pending: 'stalled',
  solved: 'resolved',
  closed: 'resolved',
};
const FROM_RT_STATUS: Record<string, TicketStatus> = {
  new: 'new',
  open: 'open',
  stalled: 'pending',
  resolved: 'solved',
  rejected: 'closed',
  deleted: 'closed',
};

/**
 * Request Tracker 5 over REST 2.0. RT has no external-id field by default, so the hub's request id
 * goes into the subject as a tag ("... [HUB-XXXXXXXX]") and is searched for before creating.
 */
export class RtTicketing implements TicketingAdapter {
  readonly name = 'rt';
  private readonly base: string;
  private readonly call: JsonCall;

  constructor(private readonly options: RtOptions) {
    this.base = `${options.baseUrl.replace(/\/+$/, '')}/REST/2.0`;
    const authorization = options.token
      ? `token ${options.token}`
      : basicAuth(options.username ?? '', options.password ?? '');
    this.call = jsonCaller('Request Tracker', this.base, authorization, options.timeoutMs);
  }

  async createTicket(draft: TicketDraft, ctx: AdapterCallContext): Promise<TicketRef> {
    const tag = `[${ctx.idempotencyKey}]`;
    const existing = await this.findBySubjectTag(tag, ctx);
    if (existing) return this.refOf(existing);
    const requestor = draft.customer.email ? { Requestor: draft.customer.email } : {};
    const { body } = await this.call<{ id: string }>('POST', '/ticket', ctx, {
      Queue: this.options.queue,
      Subject: `${draft.subject} ${tag}`,
      Content: describeTicket(draft),
      ContentType: 'text/plain',
      Priority: PRIORITY[draft.priority],
      ...requestor,
    });
    return this.refOf(String(body.id));
  }

  async addComment(externalId: string, comment: TicketComment, ctx: AdapterCallContext): Promise<void> {
    // Correspondence reaches the requestor; a comment stays internal.
    const action = comment.public ? 'correspond' : 'comment';
    await this.call('POST', `/ticket/${encodeURIComponent(externalId)}/${action}`, ctx, {
      Content: comment.text,
      ContentType: 'text/plain',
    });
  }

  async getTicket(externalId: string, ctx: AdapterCallContext): Promise<Ticket | undefined> {
    const id = encodeURIComponent(externalId);
    const found = await unlessNotFound(() =>
      this.call<{ Subject: string; Status: string; Priority: string }>('GET', `/ticket/${id}`, ctx),
    );
    if (!found) return undefined;
    const ticket = found.body;
    const history = await this.call<{ items: RtTransaction[] }>(
      'GET',
      `/ticket/${id}/history?fields=Type,Created,Creator&per_page=100`,
      ctx,
    );
    const comments: TicketComment[] = [];
    for (const tx of history.body.items) {
      if (!['Create', 'Comment', 'Correspond'].includes(tx.Type)) continue;
      const attachments = await this.call<{ items: Array<{ Content?: string; ContentType?: string }> }>(
        'GET',
        `/transaction/${encodeURIComponent(tx.id)}/attachments?fields=Content,ContentType`,
        ctx,
      );
      const text = attachments.body.items
        .filter((a) => a.ContentType?.startsWith('text/plain') && a.Content)
        .map((a) => a.Content)
        .join('\n');
      comments.push({
        author: tx.Type === 'Create' ? 'bot' : 'agent',
        text,
        public: tx.Type !== 'Comment',
        at: tx.Created,
      });
    }
    const priority = Number(ticket.Priority);
    return {
      ...this.refOf(externalId),
      subject: ticket.Subject,
      status: FROM_RT_STATUS[ticket.Status] ?? 'open',
      priority: priority >= 100 ? 'urgent' : priority >= 80 ? 'high' : priority >= 50 ? 'normal' : 'low',
      tags: [],
      comments,
    };
  }

  async setStatus(externalId: string, status: TicketStatus, ctx: AdapterCallContext): Promise<void> {
    await this.call('PUT', `/ticket/${encodeURIComponent(externalId)}`, ctx, {
      Status: TO_RT_STATUS[status],
    });
  }

  /** The names of the queues the credentials may see. */
  async visibleQueues(ctx: AdapterCallContext): Promise<string[]> {
    const { body } = await this.call<{ items: Array<{ id: string | number; Name?: string }> }>(
      'GET',
      '/queues/all?fields=Name&per_page=100',
      ctx,
    );
    return body.items.map((queue) => queue.Name ?? String(queue.id));
  }

  private async findBySubjectTag(tag: string, ctx: AdapterCallContext): Promise<string | undefined> {
    const query = `Queue = '${this.options.queue.replaceAll("'", "\\'")}' AND Subject LIKE '${tag}'`;
    const { body } = await this.call<{ items: Array<{ id: string }> }>(
      'GET',
      `/tickets?query=${encodeURIComponent(query)}&per_page=1`,
      ctx,
    );
    return body.items[0]?.id;
  }

  private refOf(id: string): TicketRef {
    return {
      externalId: id,
      url: `${this.options.baseUrl.replace(/\/+$/, '')}/Ticket/Display.html?id=${id}`,
    };
  }
}
