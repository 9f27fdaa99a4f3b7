import {
  type AdapterCallContext,
  AdapterError,
  AdapterErrorCodes,
  type Ticket,
  type TicketComment,
  type TicketDraft,
  type TicketingAdapter,
  type TicketRef,
  type TicketStatus,
} from '../../../core/types';
import { requestJson, unlessNotFound } from '../../http';
import { describeTicket } from '../describe';
import { signGeneric } from './inbound';

export interface WebhookTicketingOptions {
  /** Where new tickets are POSTed. */
  url: string;
  secret: string;
  /** URL templates with {id}: POST a comment, GET a ticket, POST a status. */
  commentUrl?: string;
  ticketUrl?: string;
  statusUrl?: string;
  timeoutMs: number;
  now?: () => number;
}

/** Raised for an operation the configured receiver does not offer: retrying cannot help. */
export const UNSUPPORTED = 'adapter.unsupported';

const STATUSES: TicketStatus[] = ['new', 'open', 'pending', 'solved', 'closed'];

/**
 * Any helpdesk or workflow tool that takes a webhook. The ticket is POSTed as JSON with
 * `Idempotency-Key` (the hub's request id: the receiver must answer a repeat with the first
 * ticket), `X-Hub-Timestamp` (Unix seconds) and `X-Hub-Signature-256` (signed as the hub's own
 * generic receiver verifies, inbound.ts); the answer `{id, url?}` names the ticket. Comments, reading and status changes use their URL templates, or are refused
 * as unsupported when none is configured.
 */
export class WebhookTicketing implements TicketingAdapter {
  readonly name = 'webhook';
  private readonly now: () => number;

  constructor(private readonly options: WebhookTicketingOptions) {
    this.now = options.now ?? Date.now;
  }

  async createTicket(draft: TicketDraft, ctx: AdapterCallContext): Promise<TicketRef> {
    const { body } = await this.send<{ id?: string | number; url?: string }>('POST', this.options.url, ctx, {
      event: 'ticket.create',
      reference: ctx.idempotencyKey,
      tenant: ctx.tenant,
      ticket: {
        subject: draft.subject,
        description: describeTicket(draft),
        summary: draft.summary,
        priority: draft.priority,
        category: draft.category,
        tags: draft.tags,
        intent: draft.intent,
        slots: draft.slots,
        entities: draft.entities,
        customer: draft.customer,
        conversationKey: draft.conversationKey,
        conversationUrl: draft.conversationUrl,
        locale: draft.locale,
        transcript: draft.transcript,
      },
    });
    if (body?.id === undefined || body.id === null || body.id === '') {
      throw new AdapterError(
        AdapterErrorCodes.invalid,
        'ticketing webhook answered without an id. Fix: the receiver must answer {"id": "...", "url": "..."}',
        { status: 502 },
      );
    }
    return { externalId: String(body.id), ...(typeof body.url === 'string' ? { url: body.url } : {}) };
  }

  async addComment(externalId: string, comment: TicketComment, ctx: AdapterCallContext): Promise<void> {
    const url = this.template('commentUrl', externalId, 'take comments');
    await this.send('POST', url, ctx, { event: 'ticket.comment', id: externalId, comment });
  }

  async getTicket(externalId: string, ctx: AdapterCallContext): Promise<Ticket | undefined> {
    const url = this.template('ticketUrl', externalId, 'be read back');
    const found = await unlessNotFound(() =>
      this.send<Partial<Ticket> & { id?: string | number }>('GET', url, ctx),
    );
    if (!found) return undefined;
    const body = found.body;
    if (!body || typeof body.subject !== 'string' || !STATUSES.includes(body.status as TicketStatus)) {
      throw new AdapterError(
        AdapterErrorCodes.invalid,
        `ticketing webhook: ${this.options.ticketUrl} did not answer a ticket. Fix: answer {"id", "subject", "status": new|open|pending|solved|closed, "comments": [...]}`,
        { status: 502 },
      );
    }
    return {
      externalId,
      url: body.url,
      subject: body.subject,
      status: body.status as TicketStatus,
      priority: body.priority,
      tags: Array.isArray(body.tags) ? body.tags : [],
      comments: Array.isArray(body.comments) ? body.comments : [],
    };
  }

  async setStatus(externalId: string, status: TicketStatus, ctx: AdapterCallContext): Promise<void> {
    const url = this.template('statusUrl', externalId, 'change status');
    await this.send('POST', url, ctx, { event: 'ticket.status', id: externalId, status });
  }

  private template(key: 'commentUrl' | 'ticketUrl' | 'statusUrl', id: string, what: string): string {
    const template = this.options[key];
    if (!template) {
      throw new AdapterError(
        UNSUPPORTED,
        `the ticketing webhook cannot ${what}: ticketing.webhook.${key} is not set. Fix: set it to a URL template with {id}`,
        { status: 501 },
      );
    }
    // new URL() percent-encodes the braces of a template.
    return template.replaceAll('{id}', encodeURIComponent(id)).replaceAll('%7Bid%7D', encodeURIComponent(id));
  }

  private send<T>(method: 'GET' | 'POST', url: string, ctx: AdapterCallContext, payload?: unknown) {
    const body = payload === undefined ? '' : JSON.stringify(payload);
    const timestamp = String(Math.floor(this.now() / 1000));
    return requestJson<T>('ticketing webhook', url, {
      method,
      body: payload === undefined ? undefined : body,
      headers: {
        ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
        'idempotency-key': ctx.idempotencyKey,
        'x-hub-timestamp': timestamp,
        'x-hub-signature-256': signGeneric(this.options.secret, timestamp, body),
      },
      signal: ctx.signal,
      timeoutMs: this.options.timeoutMs,
    });
  }
}
