import type { ColumnType, Generated, Kysely } from 'kysely';
import type { Database } from '../store/schema';
import type { TicketDraft } from '../types';

/** Row types of migrations 0002 to 0004, kept beside the code that owns those tables. */

type Json<T> = ColumnType<T, string, string>;
type CreatedAt = ColumnType<Date, string | undefined, never>;
type Timestamp = ColumnType<Date | null, string | null | undefined, string | null>;

export interface TicketRequestsTable {
  id: string;
  dedupe_key: string;
  conversation_key: string;
  tenant: string;
  adapter: string;
  draft: Json<TicketDraft>;
  /** The retention purge took what the customer said out of the draft (migration 0010). */
  draft_redacted: Generated<boolean>;
  external_id: string | null;
  external_url: string | null;
  created_at: CreatedAt;
  delivered_at: Timestamp;
}

/** What both outboxes (ticket_outbox, ticket_comments) keep per row to lease, retry and dead-letter it. */
export interface LeaseColumns {
  id: Generated<string>;
  attempts: ColumnType<number, number | undefined, number>;
  next_attempt_at: ColumnType<Date, string | undefined, string>;
  locked_until: Timestamp;
  last_error: string | null;
  created_at: CreatedAt;
  delivered_at: Timestamp;
  dead_at: Timestamp;
}

export interface TicketOutboxTable extends LeaseColumns {
  request_id: string;
}

export interface DemoTicketsTable {
  id: Generated<string>;
  idempotency_key: string;
  tenant: string;
  subject: string;
  status: string;
  priority: string;
  category: string;
  tags: Json<string[]>;
  draft: Json<TicketDraft>;
  created_at: CreatedAt;
  updated_at: ColumnType<Date, string | undefined, string>;
  /** Migration 0003: the agent who took the ticket (adapters/ticketing/demo/desk.ts). */
  assignee: ColumnType<string | null, string | undefined, string | null>;
}

export interface DemoTicketCommentsTable {
  id: Generated<string>;
  ticket_id: string;
  author: string;
  text: string;
  public: boolean;
  at: CreatedAt;
  /** Migration 0004: what makes a retried addComment find the first one. */
  idempotency_key: ColumnType<string | null, string | null | undefined, never>;
  /** Migration 0015: reply, note, assign, solve or close for an agent's comment; null otherwise. */
  kind: ColumnType<string | null, string | null | undefined, never>;
  /** Migration 0015: the agent who wrote it (their display name). */
  agent: ColumnType<string | null, string | null | undefined, never>;
}

/** Migration 0004: the outbox of comments for tickets the hub opened. */
export interface TicketCommentsTable extends LeaseColumns {
  request_id: string;
  event_id: string;
  author: string;
  body: string;
  public: boolean;
  /** Migration 0016: the ticket status to set once the comment is on the ticket (a cancelled handoff). */
  set_status: ColumnType<string | null, string | null | undefined, never>;
}

export interface TicketDatabase extends Database {
  ticket_requests: TicketRequestsTable;
  ticket_outbox: TicketOutboxTable;
  demo_tickets: DemoTicketsTable;
  demo_ticket_comments: DemoTicketCommentsTable;
  ticket_comments: TicketCommentsTable;
}

/** The store's connection, seen with the ticket tables (they exist once migration 0002 ran). */
export function ticketDb(db: Kysely<Database>): Kysely<TicketDatabase> {
  return db as unknown as Kysely<TicketDatabase>;
}
