import { randomUUID } from 'node:crypto';
import { type Kysely, type RawBuilder, sql } from 'kysely';
import type { AtRest } from '../privacy/at-rest';
import { TURN_ACTION } from '../security/audit';
import type { CustomerIdentity, HubStore, TranscriptEntry } from '../types';
import type { ConversationRef } from '../types/conversation';
import { HubError } from '../types/errors';
import type { InboundEvent } from '../types/events';
import type { OutboundMessage } from '../types/outbound';
import { bindAtRest } from './at-rest';
import { type AuditAppend, AuditLog } from './audit-log';
import { PREPARED, type StoreDriver } from './connect';
import { messageOf, migrateToLatest } from './migrate';
import {
  cleanText,
  conversationLookup,
  inboundRow,
  openMessagePayload,
  outboundRow,
  toTranscriptEntry,
  userLookup,
} from './rows';
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

function identityRow(identity: Pick<CustomerIdentity, 'channel' | 'tenant'>, userLookupHash: string): string {
  return `${identity.channel}\u0000${identity.tenant}\u0000${userLookupHash}`;
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
    /** Seals personal data in its columns and hashes lookup columns (core/privacy/at-rest.ts). */
    readonly atRest: AtRest,
  ) {
    this.auditLog = new AuditLog(db, auditKey);
    bindAtRest(db, atRest);
  }

  async migrate(): Promise<void> {
    await migrateToLatest(this.db);
  }

  /**
   * The customer behind a channel identity, or undefined when the hub has never seen it. The one
   * look-up by platform user id: `user_id` holds a keyed hash (rows written before encryption at
   * rest hold the id itself, and are found too).
   */
  async findCustomerByIdentity(identity: Omit<CustomerIdentity, 'displayName'>): Promise<string | undefined> {
    const row = await this.db
      .selectFrom('channel_identities')
      .select('customer_id')
      .where('channel', '=', identity.channel)
      .where('tenant', '=', identity.tenant)
      .where('user_id', 'in', [userLookup(this.atRest, identity.userId), identity.userId])
      .executeTakeFirst();
    return row?.customer_id;
  }

  async upsertCustomer(identity: CustomerIdentity): Promise<string> {
    const name = identity.displayName ? cleanText(identity.displayName) : null;
    const userId = userLookup(this.atRest, identity.userId);
    const where = { table: 'channel_identities', column: 'display_name', row: identityRow(identity, userId) };
    const displayName = this.atRest.sealOrNull(name, where);
    // Fast path for the common case, a customer we have seen before: one round trip, no transaction.
    // A row written before encryption at rest (user_id in clear) gets its hash here.
    const seen = await this.db
      .updateTable('channel_identities')
      .set({
        last_seen_at: sql`now()`,
        user_id: userId,
        display_name: sql`coalesce(${displayName}, case when user_id = ${userId} then display_name end)`,
      })
      .where('channel', '=', identity.channel)
      .where('tenant', '=', identity.tenant)
      .where('user_id', 'in', [userId, identity.userId])
      .returning('customer_id')
      .executeTakeFirst();
    if (seen) return seen.customer_id;

    // First sighting, possibly by several workers at once: the identity's primary key decides the
    // winner, and a loser removes the customer row it created inside its own transaction.
    return this.db.transaction().execute(async (trx) => {
      const candidate = randomUUID();
      const customerName = this.atRest.sealOrNull(name, {
        table: 'customers',
        column: 'display_name',
        row: candidate,
      });
      await trx.insertInto('customers').values({ id: candidate, display_name: customerName }).execute();
      const { customer_id } = await trx
        .insertInto('channel_identities')
        .values({
          channel: identity.channel,
          tenant: identity.tenant,
          user_id: userId,
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
    return this.record(event.ref, inboundRow(this.atRest, event, customerId));
  }

  recordOutbound(message: OutboundMessage): Promise<{ inserted: boolean }> {
    return this.record(message.ref, outboundRow(this.atRest, message));
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
          conversation: this.atRest.seal(ref.conversation, {
            table: 'conversations',
            column: 'conversation',
            row: row.conversation_key,
          }),
          thread: this.atRest.sealOrNull(ref.thread, {
            table: 'conversations',
            column: 'thread',
            row: row.conversation_key,
          }),
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

  /**
   * A whole turn in ONE statement (data-modifying CTEs, no BEGIN/COMMIT): the conversation upsert,
   * the inbound message and every reply (each idempotent on its id, sealed at rest as
   * recordInbound/recordOutbound seal them), the turn's audit record left pending for the sealer
   * (core/store/audit-log.ts), and whatever `with` adds (the turn's business facts). Either all of
   * it is written or none, so a reply is never stored without its audit record and fact. Returns,
   * per reply, whether it was new (false: an earlier attempt stored it), and the row of `with`'s
   * columns.
   */
  async recordTurn(turn: {
    event: InboundEvent;
    customerId?: string;
    replies: readonly OutboundMessage[];
    audit?: AuditEntry & { dedupeKey: string };
    with?: { ctes: RawBuilder<unknown>[]; columns: RawBuilder<unknown>[] };
  }): Promise<{ inserted: boolean[]; row: Record<string, unknown> }> {
    const inbound = inboundRow(this.atRest, turn.event, turn.customerId);
    const rows = [inbound, ...turn.replies.map((reply) => outboundRow(this.atRest, reply))];
    // ISO-8601 UTC strings (isoTime) sort as the times do; recorded out of order, the row never moves back.
    const lastActivity =
      rows
        .map((row) => row.created_at)
        .sort()
        .at(-1) ?? inbound.created_at;
    const { ref } = turn.event;
    const key = inbound.conversation_key;
    const messageValues = sql.join(
      rows.map(
        (row) => sql`(${row.id}, ${row.conversation_key}, ${row.direction}, ${row.kind}, ${row.text},
          ${row.in_reply_to ?? null}, ${row.customer_id ?? null}, ${row.locale ?? null}, ${row.source ?? null},
          ${row.payload}::jsonb, ${row.created_at}::timestamptz)`,
      ),
    );
    const ctes: RawBuilder<unknown>[] = [
      sql`turn_conversation as (
        insert into conversations (key, channel, tenant, conversation, thread, customer_id, created_at, last_activity_at)
        values (${key}, ${ref.channel}, ${ref.tenant},
          ${this.atRest.seal(ref.conversation, { table: 'conversations', column: 'conversation', row: key })},
          ${this.atRest.sealOrNull(ref.thread, { table: 'conversations', column: 'thread', row: key })},
          ${inbound.customer_id ?? null}, ${inbound.created_at}::timestamptz, ${lastActivity}::timestamptz)
        on conflict (key) do update set
          last_activity_at = greatest(conversations.last_activity_at, excluded.last_activity_at),
          customer_id = coalesce(conversations.customer_id, excluded.customer_id))`,
      sql`turn_messages as (
        insert into messages (id, conversation_key, direction, kind, text, in_reply_to, customer_id, locale,
          source, payload, created_at)
        values ${messageValues}
        on conflict (id) do nothing
        returning id)`,
    ];
    if (turn.audit) {
      const audit = this.auditLog.pendingRow({
        ...turn.audit,
        ...(turn.audit.action === TURN_ACTION && turn.audit.subject !== undefined
          ? { subject: conversationLookup(this.atRest, turn.audit.subject) }
          : {}),
      });
      ctes.push(sql`turn_audit as (
        insert into audit_log (at, actor, action, subject, tenant, details, dedupe_key, pending_mac)
        values (${audit.at}::timestamptz, ${audit.actor}, ${audit.action}, ${audit.subject}, ${audit.tenant},
          ${audit.details}::jsonb, ${audit.dedupe_key}, ${audit.pending_mac})
        on conflict (dedupe_key) do nothing)`);
    }
    ctes.push(...(turn.with?.ctes ?? []));
    // Parsed and planned once per connection: it runs on every turn.
    const { rows: result } = await sql<Record<string, unknown>>`${PREPARED}with ${sql.join(ctes)}
      select coalesce((select json_agg(id) from turn_messages), '[]'::json) as turn_inserted
      ${turn.with ? sql`, ${sql.join(turn.with.columns)}` : sql``}`.execute(this.db);
    const row = result[0] ?? {};
    const inserted = new Set(row.turn_inserted as string[]);
    return { inserted: turn.replies.map((reply) => inserted.has(reply.id)), row };
  }

  /** The last `limit` entries (default {@link DEFAULT_TRANSCRIPT_LIMIT}), oldest first. */
  async transcript(conversationKey: string, options: { limit?: number } = {}): Promise<TranscriptEntry[]> {
    const limit = Math.floor(options.limit ?? DEFAULT_TRANSCRIPT_LIMIT);
    if (!(limit > 0)) return [];
    const rows = await this.db
      .selectFrom('messages')
      .select(['id', 'conversation_key', 'direction', 'text', 'created_at', 'in_reply_to', 'payload'])
      // Rows written before encryption at rest keep the key in clear.
      .where('conversation_key', 'in', [conversationLookup(this.atRest, conversationKey), conversationKey])
      // A helpdesk update is bookkeeping: the agent's words are the outbound message it produced.
      .where('kind', '!=', 'handoff')
      .orderBy('created_at', 'desc')
      .orderBy('seq', 'desc')
      .limit(limit)
      .execute();
    return rows.reverse().map((row) => toTranscriptEntry(this.atRest, row, conversationKey));
  }

  async repliesTo(inboundEventId: string): Promise<OutboundMessage[]> {
    const rows = await this.db
      .selectFrom('messages')
      .select(['id', 'payload'])
      .where('in_reply_to', '=', inboundEventId)
      .where('direction', '=', 'out')
      .orderBy('created_at')
      .orderBy('seq')
      .execute();
    return rows.map((row) => openMessagePayload(this.atRest, row) as OutboundMessage);
  }

  /** Append to the audit chain; with a `dedupeKey` already there, nothing is appended. */
  audit(entry: AuditEntry): Promise<{ seq: number; appended: boolean }> {
    // A turn's subject is its conversation key, which names the customer on some platforms (a phone
    // number): the chain keeps its keyed hash, which `auditTrail({ subject })` finds.
    if (entry.action === TURN_ACTION && entry.subject !== undefined) {
      return this.auditLog.append({ ...entry, subject: conversationLookup(this.atRest, entry.subject) });
    }
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
    if (options.subject !== undefined) {
      const subject = options.subject;
      query = query.where('subject', 'in', [subject, conversationLookup(this.atRest, subject)]);
    }
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
