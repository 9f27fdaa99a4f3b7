import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';
import type { InboundEvent } from '../types/events';
import type { OutboundMessage } from '../types/outbound';

/**
 * Row types of the relational store, in the database's own snake_case. They describe the schema
 * after the latest migration; migrations themselves use `Kysely<any>` so that old migrations keep
 * compiling when these types move on.
 */

/** Read as a Date, written as an ISO-8601 string (both drivers accept it), never updated by hand. */
type CreatedAt = ColumnType<Date, string | undefined, never>;
/** Read as a Date, written as an ISO-8601 string. */
type Timestamp = ColumnType<Date, string | undefined, string>;
/** Read back parsed by the driver; written as JSON text so both drivers serialize it the same way. */
type Json<T> = ColumnType<T, string, string>;

export interface CustomersTable {
  id: string;
  display_name: string | null;
  created_at: CreatedAt;
}

export interface ChannelIdentitiesTable {
  channel: string;
  tenant: string;
  user_id: string;
  customer_id: string;
  display_name: string | null;
  first_seen_at: CreatedAt;
  last_seen_at: Timestamp;
}

export interface ConversationsTable {
  key: string;
  channel: string;
  tenant: string;
  conversation: string;
  thread: string | null;
  customer_id: string | null;
  created_at: CreatedAt;
  last_activity_at: Timestamp;
}

export type MessageDirection = 'in' | 'out';

export interface MessagesTable {
  /** Event id (inbound) or outbound message id: the idempotency key. */
  id: string;
  /** Insertion order; breaks ties between equal `created_at` values. Never selected (int8). */
  seq: Generated<string>;
  conversation_key: string;
  direction: MessageDirection;
  /** Inbound event kind, or outbound content type. */
  kind: string;
  text: string;
  in_reply_to: string | null;
  customer_id: string | null;
  locale: string | null;
  source: string | null;
  payload: Json<InboundEvent | OutboundMessage>;
  /** The retention purge cut the payload to a stub (migration 0010; the sealed value cannot tell). */
  payload_purged: Generated<boolean>;
  /** When it happened: the event's receivedAt or the message's createdAt. */
  created_at: ColumnType<Date, string, never>;
  recorded_at: CreatedAt;
}

export interface AuditLogTable {
  id: Generated<string>;
  at: CreatedAt;
  actor: string;
  action: string;
  subject: string | null;
  details: Json<Record<string, unknown>>;
  /** Position in the hash chain (int8, read as a string); null only on rows older than the chain. */
  seq: string | null;
  prev_hash: string | null;
  hash: string | null;
  tenant: string | null;
  dedupe_key: string | null;
  /**
   * A turn's record not chained yet (seq null): HMAC of its fields under the audit key (migration
   * 0018, core/security/audit-chain.ts `pendingMac`); null once the sealer has chained it.
   */
  pending_mac: string | null;
}

/** The single row (id 1) every chain append locks: the last record's sequence number and hash. */
export interface AuditChainHeadTable {
  id: number;
  seq: string;
  hash: string;
}

export interface AuditCheckpointsTable {
  id: Generated<string>;
  seq: string;
  hash: string;
  at: ColumnType<Date, string, never>;
  signature: string;
}

export interface Database {
  customers: CustomersTable;
  channel_identities: ChannelIdentitiesTable;
  conversations: ConversationsTable;
  messages: MessagesTable;
  audit_log: AuditLogTable;
  audit_chain_head: AuditChainHeadTable;
  audit_checkpoints: AuditCheckpointsTable;
}

export type MessageRow = Selectable<MessagesTable>;
export type NewMessage = Insertable<MessagesTable>;
export type AuditRow = Selectable<AuditLogTable>;
