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
import type { HttpAuthConfig } from '../../auth';
import { HttpAuth } from '../../auth';
import { requestJson, unlessNotFound } from '../../http';
import { describeTicket } from '../describe';
import { hubIdempotencyTag } from '../shared';

export interface ServiceNowOptions {
  /** https://<instance>.service-now.com (an emulator's URL in tests). */
  instanceUrl: string;
  auth: HttpAuthConfig;
  table?: string;
  callerId?: string;
  assignmentGroup?: string;
  contactType?: string;
  categoryByCategory?: Record<string, string>;
  closeCode?: string;
  timeoutMs: number;
}

interface Incident {
  sys_id: string;
  number: string;
  short_description: string;
  description: string;
  state: string;
  priority: string;
  sys_created_on: string;
}

interface JournalEntry {
  element: 'comments' | 'work_notes';
  value: string;
  sys_created_on: string;
}

/** Urgency and impact per hub priority; ServiceNow derives priority from the pair (1,1 → P1 ... 3,3 → P5). */
const URGENCY_IMPACT: Record<TicketPriority, { urgency: string; impact: string }> = {
  urgent: { urgency: '1', impact: '1' },
  high: { urgency: '1', impact: '2' },
  normal: { urgency: '2', impact: '2' },
  low: { urgency: '3', impact: '3' },
};
const FROM_PRIORITY: Record<string, TicketPriority> = {
  '1': 'urgent',
  '2': 'high',
  '3': 'normal',
  '4': 'low',
  '5': 'low',
};
/** Incident state codes: 1 New, 2 In Progress, 3 On Hold, 6 Resolved, 7 Closed, 8 Canceled. */
const TO_STATE: Record<TicketStatus, string> = {
  new: '1',
  open: '2',
  pending: '3',
  solved: '6',
  closed: '7',
};
const FROM_STATE: Record<string, TicketStatus> = {
  '1': 'new',
  '2': 'open',
  '3': 'pending',
  '6': 'solved',
  '7': 'closed',
  '8': 'closed',
};
const FIELDS = 'sys_id,number,short_description,description,state,priority,sys_created_on';

/**
 * ServiceNow Table API (incident by default). The hub's request id is the incident's
 * correlation_id, queried before creating (the Table API reads the database, so a committed
 * incident is found at once). Comments are journal fields: `comments` reach the caller,
 * `work_notes` stay internal; reading them back needs read access to sys_journal_field.
 */
export class ServiceNowTicketing implements TicketingAdapter {
  readonly name = 'servicenow';
  private readonly base: string;
  private readonly table: string;
  private readonly auth: HttpAuth;

  constructor(private readonly options: ServiceNowOptions) {
    this.base = options.instanceUrl.replace(/\/+$/, '');
    this.table = options.table ?? 'incident';
    this.auth = new HttpAuth(options.auth, 'ServiceNow', options.timeoutMs);
  }

  async createTicket(draft: TicketDraft, ctx: AdapterCallContext): Promise<TicketRef> {
    const correlationId = correlationIdOf(ctx.idempotencyKey);
    const query = new URLSearchParams({
      sysparm_query: `correlation_id=${correlationId}`,
      sysparm_fields: 'sys_id,number',
      sysparm_limit: '1',
    });
    const found = await this.call<{ result: Incident[] }>('GET', `${this.tablePath()}?${query}`, ctx);
    const existing = found.body.result[0];
    if (existing) return this.refOf(existing.sys_id);
    const { body } = await this.call<{ result: Incident }>(
      'POST',
      `${this.tablePath()}?sysparm_fields=sys_id,number`,
      ctx,
      {
        short_description: draft.subject.replace(/\s+/g, ' ').slice(0, 160),
        description: describeTicket(draft),
        ...URGENCY_IMPACT[draft.priority],
        category: this.options.categoryByCategory?.[draft.category] ?? 'inquiry',
        correlation_id: correlationId,
        correlation_display: 'customer-service-hub',
        ...(this.options.callerId ? { caller_id: this.options.callerId } : {}),
        ...(this.options.assignmentGroup ? { assignment_group: this.options.assignmentGroup } : {}),
        ...(this.options.contactType ? { contact_type: this.options.contactType } : {}),
      },
    );
    return this.refOf(body.result.sys_id);
  }

  async addComment(externalId: string, comment: TicketComment, ctx: AdapterCallContext): Promise<void> {
    await this.call('PATCH', `${this.recordPath(externalId)}?sysparm_fields=sys_id`, ctx, {
      [comment.public ? 'comments' : 'work_notes']: comment.text,
    });
  }

  async getTicket(externalId: string, ctx: AdapterCallContext): Promise<Ticket | undefined> {
    const found = await unlessNotFound(() =>
      this.call<{ result: Incident }>('GET', `${this.recordPath(externalId)}?sysparm_fields=${FIELDS}`, ctx),
    );
    if (!found) return undefined;
    const incident = found.body.result;
    const query = new URLSearchParams({
      sysparm_query: `element_id=${incident.sys_id}^elementINcomments,work_notes^ORDERBYsys_created_on`,
      sysparm_fields: 'element,value,sys_created_on',
      sysparm_limit: '1000',
    });
    const journal = await this.call<{ result: JournalEntry[] }>(
      'GET',
      `/api/now/table/sys_journal_field?${query}`,
      ctx,
    );
    return {
      ...this.refOf(incident.sys_id),
      subject: incident.short_description,
      status: FROM_STATE[incident.state] ?? 'open',
      priority: FROM_PRIORITY[incident.priority],
      tags: [],
      comments: [
        { author: 'bot', text: incident.description, public: true, at: isoOf(incident.sys_created_on) },
        ...journal.body.result.map(
          (entry): TicketComment => ({
            author: 'agent',
            text: entry.value,
            public: entry.element === 'comments',
            at: isoOf(entry.sys_created_on),
          }),
        ),
      ],
    };
  }

  async setStatus(externalId: string, status: TicketStatus, ctx: AdapterCallContext): Promise<void> {
    const state = TO_STATE[status];
    if (!state) {
      throw new AdapterError(AdapterErrorCodes.invalid, `ServiceNow: unknown ticket status "${status}"`, {
        status: 400,
      });
    }
    // Resolving needs a resolution code and notes (a data policy on most instances); On Hold a reason.
    const extra =
      status === 'solved' || status === 'closed'
        ? {
            close_code: this.options.closeCode ?? 'Solution provided',
            close_notes: 'Resolved through the customer-service hub.',
          }
        : status === 'pending'
          ? { hold_reason: '1' }
          : {};
    await this.call('PATCH', `${this.recordPath(externalId)}?sysparm_fields=sys_id`, ctx, {
      state,
      ...extra,
    });
  }

  /** One row of the table (sys_id only): proves the token or the user and read access to it. */
  async readOneRow(ctx: AdapterCallContext): Promise<number> {
    const { body } = await this.call<{ result: Array<{ sys_id: string }> }>(
      'GET',
      `${this.tablePath()}?sysparm_limit=1&sysparm_fields=sys_id`,
      ctx,
    );
    return body.result.length;
  }

  private tablePath(): string {
    return `/api/now/table/${this.table}`;
  }

  private recordPath(sysId: string): string {
    if (!/^[0-9a-f]{32}$/i.test(sysId)) {
      throw new AdapterError(
        AdapterErrorCodes.notFound,
        `ServiceNow record ids are 32-hex sys_ids, not "${sysId}"`,
        {
          status: 404,
        },
      );
    }
    return `${this.tablePath()}/${sysId}`;
  }

  private refOf(sysId: string): TicketRef {
    return {
      externalId: sysId,
      url: `${this.base}/nav_to.do?uri=${encodeURIComponent(`${this.table}.do?sys_id=${sysId}`)}`,
    };
  }

  /** One Table API call; after a 401 an OAuth token is fetched anew and the call made once more. */
  private async call<T>(method: string, path: string, ctx: AdapterCallContext, body?: unknown) {
    try {
      return await this.auth.authorized(ctx.signal, (headers) =>
        requestJson<T>('ServiceNow', `${this.base}${path}`, {
          method,
          body,
          headers,
          signal: ctx.signal,
          timeoutMs: this.options.timeoutMs,
        }),
      );
    } catch (error) {
      // A data policy refuses a write with 403, which is about the payload, not the credentials.
      if (error instanceof AdapterError && error.status === 403 && /data policy/i.test(error.message)) {
        throw new AdapterError(
          AdapterErrorCodes.invalid,
          `${error.message}. Fix: set the fields the instance's data policy makes mandatory (ticketing.servicenow)`,
          { status: 403, cause: error },
        );
      }
      throw error;
    }
  }
}

/**
 * correlation_id holds 100 characters and sits inside an encoded query, where ^ and = are syntax:
 * a key that is not plainly safe is replaced by its hash.
 */
export function correlationIdOf(key: string): string {
  return /^[\w.:-]{1,100}$/.test(key) ? key : hubIdempotencyTag(key, 40);
}

/** ServiceNow's "2026-11-01 10:00:00" (UTC through the API) as ISO 8601. */
function isoOf(value: string | undefined): string | undefined {
  return value ? `${value.replace(' ', 'T')}Z` : undefined;
}
