import { randomUUID } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import type { CustomerIdentity, HubStore, TranscriptEntry } from '../types';
import type { ConversationRef } from '../types/conversation';
import { HubError } from '../types/errors';
import type { InboundEvent } from '../types/events';
import type { OutboundMessage } from '../types/outbound';
import { type AuditAppend, AuditLog } from './audit-log';
import type { StoreDriver } from './connect';
import { messageOf, migrateToLatest } from './migrate';
import { cleanText, inboundRow, outboundRow, toTranscriptEntry } from './rows';
import type { Database, NewMessage } from './schema';

/** Entries `transcript()` returns when the caller gives no limit: enough for any prompt or screen. */
export const DEFAULT_TRANSCRIPT_LIMIT = 100;
export const DEFAULT_AUDIT_LIMIT = 100;

/** One audit record to append to the hash chain (core/store/audit-log.ts). */
export type AuditEntry = AuditAppend;

export interface AuditRecord {
  at: string;
  actor: string;
  action: string;
  subject?: string;
  tenant?: string;
  details: Record<string, unknown>;
}

/** HubStore over Kysely: the same SQL runs on PostgreSQL and on embedded PGlite. */
export class KyselyStore implements HubStore {
  private closed = false;
  /** The tamper-evident audit chain: append, read in order, verify, purge. */
  readonly auditLog: AuditLog;

  constructor(
    /** For store modules that add their own tables (tickets, outbox); not for callers outside core/store. */
    readonly db: Kysely<Database>,
    readonly driver: StoreDriver,
    /** The server key that signs the audit chain (core/security/audit-key.ts). */
    auditKey: Buffer,
  ) {
    this.auditLog = new AuditLog(db, auditKey);
  }

  async migrate(): Promise<void> {
    await migrateToLatest(this.db);
  }

  async upsertCustomer(identity: CustomerIdentity): Promise<string> {
    const displayName = identity.displayName ? cleanText(identity.displayName) : null;
    // Fast path for the common case, a customer we have seen before: one round trip, no transaction.
    const seen = await this.db
      .updateTable('channel_identities')
      .set({ last_seen_at: sql`now()`, display_name: sql`coalesce(${displayName}, display_name)` })
      .where('channel', '=', identity.channel)
      .where('tenant', '=', identity.tenant)
      .where('user_id', '=', identity.userId)
      .returning('customer_id')
      .executeTakeFirst();
    if (seen) return seen.customer_id;

    // First sighting, possibly by several workers at once: the identity's primary key decides the
    // winner, and a loser removes the customer row it created inside its own transaction.
    return this.db.transaction().execute(async (trx) => {
      const candidate = randomUUID();
      await trx.insertInto('customers').values({ id: candidate, display_name: displayName }).execute();
      const { customer_id } = await trx
        .insertInto('channel_identities')
        .values({
          channel: identity.channel,
          tenant: identity.tenant,
          user_id: identity.userId,
          customer_id: candidate,
          display_name: displayName,
        })
        .onConflict((oc) =>
          oc.columns(['channel', 'tenant', 'user_id']).doUpdateSet({
            last_seen_at: sql`now()`,
            display_name: sql`coalesce(excluded.display_name, channel_identities.display_name)`,
          }),
        )
        .returning('customer_id')
        .executeTakeFirstOrThrow();
      if (customer_id !== candidate) await trx.deleteFrom('customers').where('id', '=', candidate).execute();
      return customer_id;
    });
  }

  recordInbound(event: InboundEvent, customerId?: string): Promise<{ inserted: boolean }> {
    return this.record(event.ref, inboundRow(event, customerId));
  }

  recordOutbound(message: OutboundMessage): Promise<{ inserted: boolean }> {
    return this.record(message.ref, outboundRow(message));
  }

  /** Upsert the conversation, then insert the message unless its id is already there. */
  private record(ref: ConversationRef, row: NewMessage): Promise<{ inserted: boolean }> {
    return this.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('conversations')
        .values({
          key: row.conversation_key,
          channel: ref.channel,
          tenant: ref.tenant,
          conversation: ref.conversation,
          thread: ref.thread ?? null,
          customer_id: row.customer_id ?? null,
          created_at: row.created_at,
          last_activity_at: row.created_at,
        })
        .onConflict((oc) =>
          oc.column('key').doUpdateSet({
            // Messages can be recorded out of order (retries, parallel replies): never move backwards.
            last_activity_at: sql`greatest(conversations.last_activity_at, excluded.last_activity_at)`,
            customer_id: sql`coalesce(conversations.customer_id, excluded.customer_id)`,
          }),
        )
        .execute();
      const inserted = await trx
        .insertInto('messages')
        .values(row)
        .onConflict((oc) => oc.column('id').doNothing())
        .returning('id')
        .executeTakeFirst();
      return { inserted: inserted !== undefined };
    });
  }

  /** The last `limit` entries (default {@link DEFAULT_TRANSCRIPT_LIMIT}), oldest first. */
  async transcript(conversationKey: string, options: { limit?: number } = {}): Promise<TranscriptEntry[]> {
    const limit = Math.floor(options.limit ?? DEFAULT_TRANSCRIPT_LIMIT);
    if (!(limit > 0)) return [];
    const rows = await this.db
      .selectFrom('messages')
      .select(['id', 'conversation_key', 'direction', 'text', 'created_at', 'in_reply_to', 'payload'])
      .where('conversation_key', '=', conversationKey)
      // A helpdesk update is bookkeeping: the agent's words are the outbound message it produced.
      .where('kind', '!=', 'handoff')
      .orderBy('created_at', 'desc')
      .orderBy('seq', 'desc')
      .limit(limit)
      .execute();
    return rows.reverse().map(toTranscriptEntry);
  }

  async repliesTo(inboundEventId: string): Promise<OutboundMessage[]> {
    const rows = await this.db
      .selectFrom('messages')
      .select('payload')
      .where('in_reply_to', '=', inboundEventId)
      .where('direction', '=', 'out')
      .orderBy('created_at')
      .orderBy('seq')
      .execute();
    return rows.map((row) => row.payload as OutboundMessage);
  }

  /** Append to the audit chain; with a `dedupeKey` already there, nothing is appended. */
  audit(entry: AuditEntry): Promise<{ seq: number; appended: boolean }> {
    return this.auditLog.append(entry);
  }

  /** Most recent audit entries first, optionally for one subject. */
  async auditTrail(options: { subject?: string; limit?: number } = {}): Promise<AuditRecord[]> {
    let query = this.db
      .selectFrom('audit_log')
      .select(['at', 'actor', 'action', 'subject', 'tenant', 'details'])
      .orderBy('at', 'desc')
      .orderBy('id', 'desc')
      .limit(Math.max(1, Math.floor(options.limit ?? DEFAULT_AUDIT_LIMIT)));
    if (options.subject !== undefined) query = query.where('subject', '=', options.subject);
    const rows = await query.execute();
    return rows.map((row) => ({
      at: row.at.toISOString(),
      actor: row.actor,
      action: row.action,
      ...(row.subject === null ? {} : { subject: row.subject }),
      ...(row.tenant === null ? {} : { tenant: row.tenant }),
      details: row.details,
    }));
  }

  async ping(): Promise<void> {
    try {
      await sql`select 1`.execute(this.db);
    } catch (error) {
      throw new HubError(
        'store.unavailable',
        `The ${this.driver} database does not answer: ${messageOf(error)}`,
        {
          cause: error,
          retryable: true,
          status: 503,
        },
      );
    }
  }

  /** Release connections (or the embedded instance). Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.db.destroy();
  }
}
