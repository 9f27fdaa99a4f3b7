import { type Kysely, sql } from 'kysely';
import type { AtRest } from '../privacy/at-rest';
import { atRestOf } from '../store/at-rest';
import type { Database } from '../store/schema';
import type { TicketComment, TicketStatus } from '../types';
import { type FailureOutcome, LeasedRows, msFromNow } from './lease';
import { type TicketDatabase, ticketDb } from './schema';

export interface NewTicketComment {
  /** The hub's ticket reference (ticket_requests.id). */
  requestId: string;
  /** The inbound event the comment carries; also the idempotency key sent to the helpdesk. */
  eventId: string;
  author: TicketComment['author'];
  body: string;
  public: boolean;
  /** Set the ticket to this status once the comment is on it (a cancelled handoff: `solved`). */
  setStatus?: TicketStatus;
}

export interface ClaimedComment {
  commentId: string;
  /** Including this one. */
  attempt: number;
  requestId: string;
  eventId: string;
  adapter: string;
  tenant: string;
  /** The helpdesk's ticket id: a comment is claimed only once its ticket was delivered. */
  externalId: string;
  comment: TicketComment;
  setStatus?: TicketStatus;
}

export interface DeadComment {
  requestId: string;
  eventId: string;
  adapter: string;
  attempts: number;
  lastError: string;
  deadAt: string;
}

/**
 * The outbox of comments for tickets the hub opened (table ticket_comments, migration 0004).
 * `enqueue` is idempotent on the event id. `claim` leases, per ticket, only the oldest comment
 * neither delivered nor dead, and only once the ticket has its helpdesk id: comments reach a
 * ticket in the order the customer wrote them, and never before the ticket exists.
 */
export class TicketCommentOutbox {
  private readonly db: Kysely<TicketDatabase>;
  private readonly rows: LeasedRows;
  private readonly atRest: AtRest;

  constructor(db: Kysely<Database>) {
    this.db = ticketDb(db);
    this.rows = new LeasedRows(this.db, 'ticket_comments', ['request_id', 'event_id']);
    this.atRest = atRestOf(db);
  }

  /**
   * Write the comment for `requestId`; a repeat of the event id keeps the first. Returns false when
   * the hub has no such ticket request (nothing to attach the comment to).
   */
  async enqueue(input: NewTicketComment): Promise<{ created: boolean; known: boolean }> {
    const result = await sql<{ id: string }>`
      insert into ticket_comments (request_id, event_id, author, body, public, set_status)
      select r.id, ${input.eventId}, ${input.author}, ${this.atRest.seal(input.body, commentBody(input.eventId))}, ${input.public}, ${input.setStatus ?? null}
        from ticket_requests r
       where r.id = ${input.requestId}
      on conflict (event_id) do nothing
      returning id::text as id`.execute(this.db);
    if (result.rows.length > 0) return { created: true, known: true };
    const known = await this.db
      .selectFrom('ticket_requests')
      .select('id')
      .where('id', '=', input.requestId)
      .executeTakeFirst();
    return { created: false, known: known !== undefined };
  }

  /** Lease up to `limit` due comments, at most one per ticket; each claim counts as an attempt. */
  async claim(limit: number, leaseMs: number): Promise<ClaimedComment[]> {
    const result = await sql<CommentRow>`
      update ticket_comments c
         set locked_until = ${msFromNow(leaseMs)},
             attempts = c.attempts + 1
        from ticket_requests r
       where r.id = c.request_id
         and c.id in (
           select head.id from ticket_comments head
             join ticket_requests tr on tr.id = head.request_id
            where head.delivered_at is null and head.dead_at is null
              and head.next_attempt_at <= now()
              and (head.locked_until is null or head.locked_until < now())
              and tr.external_id is not null
              and not exists (
                select 1 from ticket_comments earlier
                 where earlier.request_id = head.request_id and earlier.id < head.id
                   and earlier.delivered_at is null and earlier.dead_at is null)
            order by head.id
            limit ${limit}
            for update of head skip locked)
      returning c.id::text as id, c.attempts, c.request_id, c.event_id, c.author, c.body, c.public,
                c.set_status, c.created_at, r.adapter, r.tenant, r.external_id`.execute(this.db);
    return [...result.rows]
      .sort((a, b) => Number(a.id) - Number(b.id))
      .map((row) => ({
        commentId: row.id,
        attempt: row.attempts,
        requestId: row.request_id,
        eventId: row.event_id,
        adapter: row.adapter,
        tenant: row.tenant,
        externalId: row.external_id,
        comment: {
          author: row.author as TicketComment['author'],
          text: this.atRest.open(row.body, commentBody(row.event_id)),
          public: row.public,
          at: new Date(row.created_at).toISOString(),
        },
        ...(row.set_status ? { setStatus: row.set_status as TicketStatus } : {}),
      }));
  }

  /**
   * How many earlier comments of the same ticket with this body were delivered: a retry compares it
   * with what the helpdesk shows to tell whether its first attempt got through.
   */
  async deliveredTwins(claimed: ClaimedComment): Promise<number> {
    // Bodies are sealed (each with its own key and IV), so equal bodies compare here, not in SQL.
    const rows = await this.db
      .selectFrom('ticket_comments')
      .select(['event_id', 'body'])
      .where('request_id', '=', claimed.requestId)
      .where('id', '<', claimed.commentId)
      .where('delivered_at', 'is not', null)
      .execute();
    return rows.filter(
      (row) => this.atRest.open(row.body, commentBody(row.event_id)) === claimed.comment.text,
    ).length;
  }

  async markDelivered(claimed: ClaimedComment): Promise<void> {
    await this.rows.markDelivered(claimed.commentId);
  }

  /** Back to pending after `retryInMs`, or dead when `dead`. */
  async markFailed(claimed: ClaimedComment, error: string, outcome: FailureOutcome): Promise<void> {
    await this.rows.markFailed(claimed.commentId, error, outcome);
  }

  /** Not tried (the circuit is open): release the lease without spending an attempt. */
  async defer(claimed: ClaimedComment, retryInMs: number): Promise<void> {
    await this.rows.defer(claimed.commentId, retryInMs);
  }

  /** The helpdesk `adapter` answers again: its waiting rows fall due within `spreadMs`. */
  async wake(adapter: string, spreadMs: number): Promise<number> {
    return this.rows.wake(adapter, spreadMs);
  }

  async deadLetters(limit = 100): Promise<DeadComment[]> {
    const rows = await this.db
      .selectFrom('ticket_comments as c')
      .innerJoin('ticket_requests as r', 'r.id', 'c.request_id')
      .select(['c.request_id', 'c.event_id', 'r.adapter', 'c.attempts', 'c.last_error', 'c.dead_at'])
      .where('c.dead_at', 'is not', null)
      .orderBy('c.dead_at', 'desc')
      .limit(limit)
      .execute();
    return rows.map((row) => ({
      requestId: row.request_id,
      eventId: row.event_id,
      adapter: row.adapter,
      attempts: row.attempts,
      lastError: row.last_error ?? '',
      deadAt: new Date(row.dead_at as Date).toISOString(),
    }));
  }

  /**
   * Dead comments (all, or those of these ticket references or event ids) go back to pending with
   * fresh attempts; returns how many.
   */
  async replay(ids?: string[]): Promise<number> {
    return this.rows.replay(ids);
  }

  /** Comments not yet delivered and not dead (including those whose ticket is not delivered yet). */
  async pending(): Promise<number> {
    return this.rows.pending();
  }
}

const commentBody = (eventId: string) => ({ table: 'ticket_comments', column: 'body', row: eventId });

interface CommentRow {
  id: string;
  attempts: number;
  request_id: string;
  event_id: string;
  author: string;
  body: string;
  public: boolean;
  set_status: string | null;
  created_at: Date;
  adapter: string;
  tenant: string;
  external_id: string;
}
