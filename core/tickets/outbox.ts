import { randomBytes } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import type { AtRest } from '../privacy/at-rest';
import { atRestOf } from '../store/at-rest';
import { conversationLookup } from '../store/rows';
import type { Database } from '../store/schema';
import type { TicketDraft, TicketRef } from '../types';
import { type FailureOutcome, LeasedRows, msFromNow } from './lease';
import { type TicketDatabase, ticketDb } from './schema';

export interface TicketRequest {
  /** Customer-facing reference and the idempotency key sent to the helpdesk. */
  id: string;
  /** As stored: the keyed hash of the dedupe key given to `enqueue`. */
  dedupeKey: string;
  conversationKey: string;
  tenant: string;
  adapter: string;
  draft: TicketDraft;
  externalId?: string;
  externalUrl?: string;
  createdAt: string;
  deliveredAt?: string;
}

export interface ClaimedDelivery {
  outboxId: string;
  /** Including this one. */
  attempt: number;
  request: TicketRequest;
}

export interface DeadTicket {
  requestId: string;
  conversationKey: string;
  adapter: string;
  subject: string;
  attempts: number;
  lastError: string;
  deadAt: string;
}

export interface NewTicketRequest {
  dedupeKey: string;
  conversationKey: string;
  tenant: string;
  adapter: string;
  draft: TicketDraft;
}

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'; // Crockford base32: no I, L, O, U to misread

/** A reference a customer can read over the phone: HUB- and 8 base32 characters (40 bits). */
export function newTicketReference(): string {
  const bytes = randomBytes(8);
  let out = '';
  for (const byte of bytes) out += ALPHABET[byte & 31];
  return `HUB-${out}`;
}

/**
 * The transactional outbox of ticket requests. `enqueue` writes the request and its outbox row in
 * one transaction, so a request either exists with a pending delivery or not at all; `claim`
 * leases due rows (SKIP LOCKED, lease lapses when a worker dies); delivery outcomes move a row to
 * delivered, back to pending with a later `next_attempt_at`, or to dead.
 */
export class TicketOutbox {
  private readonly db: Kysely<TicketDatabase>;
  private readonly rows: LeasedRows;
  private readonly atRest: AtRest;

  constructor(db: Kysely<Database>) {
    this.db = ticketDb(db);
    this.rows = new LeasedRows(this.db, 'ticket_outbox', ['request_id']);
    this.atRest = atRestOf(db);
  }

  /** Idempotent on `dedupeKey`: a repeat returns the first request with `created: false`. */
  async enqueue(input: NewTicketRequest): Promise<{ request: TicketRequest; created: boolean }> {
    // The dedupe key names the conversation (`<conversation key>|<event id>`): kept as a hash.
    const dedupeKey = this.atRest.lookup('ticket-dedupe', input.dedupeKey);
    return this.db.transaction().execute(async (trx) => {
      const id = newTicketReference();
      const inserted = await trx
        .insertInto('ticket_requests')
        .values({
          id,
          dedupe_key: dedupeKey,
          // The draft carries the key in clear (sealed with it); this column is what joins.
          conversation_key: conversationLookup(this.atRest, input.conversationKey),
          tenant: input.tenant,
          adapter: input.adapter,
          draft: this.atRest.sealJson(JSON.stringify(input.draft), draftContext(id)),
        })
        .onConflict((oc) => oc.column('dedupe_key').doNothing())
        .returning('id')
        .executeTakeFirst();
      if (inserted) await trx.insertInto('ticket_outbox').values({ request_id: id }).execute();
      const row = await trx
        .selectFrom('ticket_requests')
        .selectAll()
        .where('dedupe_key', '=', dedupeKey)
        .executeTakeFirstOrThrow();
      return { request: toRequest(this.atRest, row), created: inserted !== undefined };
    });
  }

  async get(requestId: string): Promise<TicketRequest | undefined> {
    const row = await this.db
      .selectFrom('ticket_requests')
      .selectAll()
      .where('id', '=', requestId)
      .executeTakeFirst();
    return row ? toRequest(this.atRest, row) : undefined;
  }

  /**
   * The request a helpdesk ticket was opened for, by the helpdesk's own ticket id (what its
   * webhooks name); index `ticket_requests_external_idx` (migration 0003).
   */
  async findByExternalId(adapter: string, externalId: string): Promise<TicketRequest | undefined> {
    const row = await this.db
      .selectFrom('ticket_requests')
      .selectAll()
      .where('adapter', '=', adapter)
      .where('external_id', '=', externalId)
      .orderBy('created_at', 'desc')
      .executeTakeFirst();
    return row ? toRequest(this.atRest, row) : undefined;
  }

  /** Lease up to `limit` due deliveries for `leaseMs`; each claim counts as an attempt. */
  async claim(limit: number, leaseMs: number): Promise<ClaimedDelivery[]> {
    const result = await sql<TicketRequestRow & { outbox_id: string; attempts: number }>`
      update ticket_outbox o
         set locked_until = ${msFromNow(leaseMs)},
             attempts = o.attempts + 1
        from ticket_requests r
       where r.id = o.request_id
         and o.id in (
           select id from ticket_outbox
            where delivered_at is null and dead_at is null and next_attempt_at <= now()
              and (locked_until is null or locked_until < now())
            order by next_attempt_at, id
            limit ${limit}
            for update skip locked)
      returning o.id::text as outbox_id, o.attempts, r.id, r.dedupe_key, r.conversation_key, r.tenant,
                r.adapter, r.draft, r.external_id, r.external_url, r.created_at, r.delivered_at`.execute(
      this.db,
    );
    // UPDATE ... RETURNING has no order: deliver oldest first.
    const rows = [...result.rows].sort((a, b) => Number(a.outbox_id) - Number(b.outbox_id));
    return rows.map((row) => ({
      outboxId: row.outbox_id,
      attempt: Number(row.attempts),
      request: toRequest(this.atRest, row),
    }));
  }

  async markDelivered(delivery: ClaimedDelivery, ref: TicketRef): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx
        .updateTable('ticket_requests')
        .set({ external_id: ref.externalId, external_url: ref.url ?? null, delivered_at: sql`now()` })
        .where('id', '=', delivery.request.id)
        .execute();
      await this.rows.markDelivered(delivery.outboxId, trx);
    });
  }

  /** Back to pending after `retryInMs`, or dead when `dead`. */
  async markFailed(delivery: ClaimedDelivery, error: string, outcome: FailureOutcome): Promise<void> {
    await this.rows.markFailed(delivery.outboxId, error, outcome);
  }

  /** Not tried (e.g. the circuit is open): release the lease without spending an attempt. */
  async defer(delivery: ClaimedDelivery, retryInMs: number): Promise<void> {
    await this.rows.defer(delivery.outboxId, retryInMs);
  }

  /** The helpdesk `adapter` answers again: its waiting rows fall due within `spreadMs`. */
  async wake(adapter: string, spreadMs: number): Promise<number> {
    return this.rows.wake(adapter, spreadMs);
  }

  async deadLetters(limit = 100): Promise<DeadTicket[]> {
    const rows = await this.db
      .selectFrom('ticket_outbox as o')
      .innerJoin('ticket_requests as r', 'r.id', 'o.request_id')
      .select([
        'r.id',
        'r.conversation_key',
        'r.adapter',
        'r.draft',
        'o.attempts',
        'o.last_error',
        'o.dead_at',
      ])
      .where('o.dead_at', 'is not', null)
      .orderBy('o.dead_at', 'desc')
      .limit(limit)
      .execute();
    return rows.map((row) => {
      const draft = parseDraft(this.atRest, row.id, row.draft);
      return {
        requestId: row.id,
        conversationKey: draft.conversationKey ?? row.conversation_key,
        adapter: row.adapter,
        subject: draft.subject,
        attempts: row.attempts,
        lastError: row.last_error ?? '',
        deadAt: new Date(row.dead_at as Date).toISOString(),
      };
    });
  }

  /** Dead deliveries (all, or these request ids) go back to pending with fresh attempts; returns how many. */
  async replay(requestIds?: string[]): Promise<number> {
    return this.rows.replay(requestIds);
  }

  /** Deliveries not yet delivered and not dead. */
  async pending(): Promise<number> {
    return this.rows.pending();
  }
}

const draftContext = (id: string) => ({ table: 'ticket_requests', column: 'draft', row: id });

/** The draft in clear: sealed on new rows, JSON (text on some drivers) on rows from before. */
function parseDraft(atRest: AtRest, id: string, draft: TicketDraft | string): TicketDraft {
  return atRest.openJson<TicketDraft>(draft, draftContext(id));
}

/** A ticket_requests row as the queries here select it (`draft` is JSON text on some drivers). */
interface TicketRequestRow {
  id: string;
  dedupe_key: string;
  conversation_key: string;
  tenant: string;
  adapter: string;
  draft: TicketDraft | string;
  external_id: string | null;
  external_url: string | null;
  created_at: Date;
  delivered_at: Date | null;
}

function toRequest(atRest: AtRest, row: TicketRequestRow): TicketRequest {
  const draft = parseDraft(atRest, row.id, row.draft);
  return {
    id: row.id,
    dedupeKey: row.dedupe_key,
    conversationKey: draft.conversationKey ?? row.conversation_key,
    tenant: row.tenant,
    adapter: row.adapter,
    draft,
    externalId: row.external_id ?? undefined,
    externalUrl: row.external_url ?? undefined,
    createdAt: new Date(row.created_at).toISOString(),
    deliveredAt: row.delivered_at ? new Date(row.delivered_at).toISOString() : undefined,
  };
}
