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

export interface JiraSmOptions {
  /** https://<site>.atlassian.net (an emulator's URL in tests). */
  baseUrl: string;
  email: string;
  apiToken: string;
  serviceDeskId: string;
  requestTypeId: string;
  requestTypeByCategory?: Record<string, string>;
  sendPriority?: boolean;
  transitions?: Partial<Record<TicketStatus, string[]>>;
  statuses?: Record<string, TicketStatus>;
  timeoutMs: number;
}

interface CustomerRequest {
  issueId: string;
  issueKey: string;
  requestFieldValues: Array<{ fieldId: string; value: unknown }>;
  currentStatus?: { status: string; statusCategory?: string };
  createdDate?: { iso8601?: string };
  _links?: { web?: string };
}

export interface JiraUser {
  accountId: string;
  displayName?: string;
  emailAddress?: string;
  active?: boolean;
}

interface Paged<T> {
  values: T[];
  isLastPage: boolean;
  start: number;
  size: number;
}

interface RequestComment {
  body: string;
  public: boolean;
  created?: { iso8601?: string };
}

/** Names of the Jira Service Management default workflows; configuration adds to them. */
const DEFAULT_TRANSITIONS: Record<TicketStatus, string[]> = {
  new: ['Back to waiting for support', 'Respond to support', 'Reopen'],
  open: ['In progress', 'Start progress', 'Back to in progress', 'Respond to support', 'Reopen'],
  pending: ['Respond to customer', 'Pending', 'Waiting for customer'],
  solved: ['Resolve this issue', 'Resolve', 'Mark as done', 'Done'],
  closed: ['Close', 'Close request', 'Cancel request'],
};
const DEFAULT_STATUSES: Record<string, TicketStatus> = {
  'waiting for support': 'new',
  open: 'open',
  'in progress': 'open',
  'work in progress': 'open',
  escalated: 'open',
  'waiting for customer': 'pending',
  pending: 'pending',
  resolved: 'solved',
  done: 'solved',
  completed: 'solved',
  closed: 'closed',
  canceled: 'closed',
  cancelled: 'closed',
  declined: 'closed',
};
const BY_CATEGORY: Record<string, TicketStatus> = { NEW: 'new', INDETERMINATE: 'open', DONE: 'solved' };
const PRIORITY_NAMES: Record<TicketPriority, string> = {
  low: 'Low',
  normal: 'Medium',
  high: 'High',
  urgent: 'Highest',
};

/** The label that marks the request of one hub ticket request. */
export function jiraIdempotencyLabel(key: string): string {
  return hubIdempotencyTag(key);
}

/**
 * Jira Service Management Cloud: customer requests through /rest/servicedeskapi, look-up through
 * the platform's JQL search (/rest/api/3/search/jql; the older /rest/api/3/search is gone). Each
 * request carries a label derived from the hub's request id (the request type must show the
 * Labels field), searched for before creating. Status changes go through the request's
 * transitions, chosen by name.
 */
export class JiraSmTicketing implements TicketingAdapter {
  readonly name = 'jiraSm';
  private readonly base: string;
  private readonly call: JsonCall;
  private readonly transitions: Record<TicketStatus, string[]>;
  private readonly statuses: Record<string, TicketStatus>;

  constructor(private readonly options: JiraSmOptions) {
    this.base = options.baseUrl.replace(/\/+$/, '');
    this.call = jsonCaller(
      'Jira Service Management',
      this.base,
      basicAuth(options.email, options.apiToken),
      options.timeoutMs,
    );
    this.transitions = { ...DEFAULT_TRANSITIONS };
    for (const [status, names] of Object.entries(options.transitions ?? {})) {
      const hub = status as TicketStatus;
      this.transitions[hub] = [...(names ?? []), ...DEFAULT_TRANSITIONS[hub]];
    }
    this.statuses = { ...DEFAULT_STATUSES };
    for (const [name, status] of Object.entries(options.statuses ?? {})) {
      this.statuses[name.toLowerCase()] = status;
    }
  }

  async createTicket(draft: TicketDraft, ctx: AdapterCallContext): Promise<TicketRef> {
    const label = jiraIdempotencyLabel(ctx.idempotencyKey);
    const existing = await this.findByLabel(label, ctx);
    if (existing) return this.refOf(existing);
    const { body } = await this.call<CustomerRequest>('POST', '/rest/servicedeskapi/request', ctx, {
      serviceDeskId: this.options.serviceDeskId,
      requestTypeId: this.options.requestTypeByCategory?.[draft.category] ?? this.options.requestTypeId,
      requestFieldValues: {
        // Jira's summary is one line of at most 255 characters.
        summary: draft.subject.replace(/\s+/g, ' ').slice(0, 255),
        description: describeTicket(draft),
        labels: [...new Set([...draft.tags.map(toJiraLabel), label])],
        ...(this.options.sendPriority ? { priority: { name: PRIORITY_NAMES[draft.priority] } } : {}),
      },
    });
    return this.refOf(body.issueKey, body._links?.web);
  }

  async addComment(externalId: string, comment: TicketComment, ctx: AdapterCallContext): Promise<void> {
    await this.call('POST', `/rest/servicedeskapi/request/${encodeURIComponent(externalId)}/comment`, ctx, {
      body: comment.text,
      public: comment.public,
    });
  }

  async getTicket(externalId: string, ctx: AdapterCallContext): Promise<Ticket | undefined> {
    const key = encodeURIComponent(externalId);
    const found = await unlessNotFound(() =>
      this.call<CustomerRequest>('GET', `/rest/servicedeskapi/request/${key}`, ctx),
    );
    if (!found) return undefined;
    const request = found.body;
    const comments: RequestComment[] = [];
    for (let start = 0; start < 10_000; ) {
      const { body } = await this.call<Paged<RequestComment>>(
        'GET',
        `/rest/servicedeskapi/request/${key}/comment?start=${start}&limit=100`,
        ctx,
      );
      comments.push(...body.values);
      if (body.isLastPage || body.values.length === 0) break;
      start += body.values.length;
    }
    const field = (id: string) => request.requestFieldValues.find((f) => f.fieldId === id)?.value;
    const labels = field('labels');
    const priority = (field('priority') as { name?: string } | undefined)?.name;
    return {
      ...this.refOf(request.issueKey, request._links?.web),
      subject: String(field('summary') ?? ''),
      status: this.statusOf(request),
      priority: priority ? priorityOf(priority) : undefined,
      tags: Array.isArray(labels) ? labels.map(String) : [],
      comments: [
        {
          author: 'bot',
          text: String(field('description') ?? ''),
          public: true,
          at: request.createdDate?.iso8601,
        },
        ...comments.map(
          (c): TicketComment => ({ author: 'agent', text: c.body, public: c.public, at: c.created?.iso8601 }),
        ),
      ],
    };
  }

  /** Takes the first available transition named for the status; a request already there is left alone. */
  async setStatus(externalId: string, status: TicketStatus, ctx: AdapterCallContext): Promise<void> {
    const wanted = this.transitions[status];
    if (!wanted) {
      throw new AdapterError(
        AdapterErrorCodes.invalid,
        `Jira Service Management: unknown status "${status}"`,
        {
          status: 400,
        },
      );
    }
    const key = encodeURIComponent(externalId);
    const { body: request } = await this.call<CustomerRequest>(
      'GET',
      `/rest/servicedeskapi/request/${key}`,
      ctx,
    );
    if (this.statusOf(request) === status) return;
    const { body } = await this.call<Paged<{ id: string; name: string }>>(
      'GET',
      `/rest/servicedeskapi/request/${key}/transition`,
      ctx,
    );
    const byName = new Map(body.values.map((t) => [t.name.toLowerCase(), t]));
    const transition = wanted.map((name) => byName.get(name.toLowerCase())).find(Boolean);
    if (!transition) {
      const available = body.values.map((t) => `"${t.name}"`).join(', ') || 'none';
      throw new AdapterError(
        AdapterErrorCodes.invalid,
        `Jira Service Management: no transition leads ${externalId} from "${request.currentStatus?.status}" to ${status} (available: ${available}). Fix: name one in ticketing.jiraSm.transitions.${status}`,
        { status: 400 },
      );
    }
    await this.call('POST', `/rest/servicedeskapi/request/${key}/transition`, ctx, { id: transition.id });
  }

  /** The Atlassian account the e-mail and API token authenticate. */
  async currentUser(ctx: AdapterCallContext): Promise<JiraUser> {
    return (await this.call<JiraUser>('GET', '/rest/api/3/myself', ctx)).body;
  }

  private statusOf(request: CustomerRequest): TicketStatus {
    const name = request.currentStatus?.status?.toLowerCase() ?? '';
    return this.statuses[name] ?? BY_CATEGORY[request.currentStatus?.statusCategory ?? ''] ?? 'open';
  }

  private async findByLabel(label: string, ctx: AdapterCallContext): Promise<string | undefined> {
    const query = new URLSearchParams({ jql: `labels = "${label}"`, fields: 'summary', maxResults: '1' });
    const { body } = await this.call<{ issues: Array<{ id: string; key: string }> }>(
      'GET',
      `/rest/api/3/search/jql?${query}`,
      ctx,
    );
    return body.issues[0]?.key;
  }

  private refOf(key: string, web?: string): TicketRef {
    return { externalId: key, url: web ?? `${this.base}/browse/${key}` };
  }
}

/** Jira labels hold no spaces. */
function toJiraLabel(tag: string): string {
  return tag.trim().replace(/\s+/g, '_').slice(0, 255);
}

function priorityOf(name: string): TicketPriority | undefined {
  const lower = name.toLowerCase();
  if (lower === 'highest' || lower === 'blocker' || lower === 'critical') return 'urgent';
  if (lower === 'high') return 'high';
  if (lower === 'medium') return 'normal';
  if (lower === 'low' || lower === 'lowest') return 'low';
  return undefined;
}
