import { type Kysely, type Selectable, sql, type Transaction } from 'kysely';
import {
  type ChainFault,
  type ChainFields,
  ChainVerifier,
  type Checkpoint,
  chainHash,
  checkpointIsSigned,
  checkpointSignature,
  GENESIS_HASH,
  type PendingFields,
  pendingMac,
  pendingMacMatches,
  REDACTED_DETAILS,
  REDACTION_ACTION,
  redactedRecordsOf,
} from '../security/audit-chain';
import { cleanText, isoTime, toJson } from './rows';
import type { AuditLogTable, Database } from './schema';

export interface AuditAppend {
  actor: string;
  action: string;
  subject?: string;
  tenant?: string;
  details?: Record<string, unknown>;
  /** ISO-8601; now when absent. */
  at?: string;
  /** At most one record per key: appending it again returns the first (a redelivered turn). */
  dedupeKey?: string;
}

export interface ChainedAuditRecord {
  seq: number;
  at: string;
  actor: string;
  action: string;
  subject?: string;
  tenant?: string;
  details: Record<string, unknown>;
  prevHash: string;
  hash: string;
}

export interface AuditVerification {
  ok: boolean;
  /** Records checked and found sound. */
  checked: number;
  /** Where verification started: the latest retention checkpoint, or 0. */
  from: number;
  /** Of `checked`, records redacted by an erasure and accepted by a redaction record's list. */
  redacted?: number;
  fault?: ChainFault;
}

/** A pending record not sealed after this long is a fault of `verify` (the sealer runs every second). */
export const PENDING_GRACE_MS = 5 * 60_000;
/** Pending records the sealer chains per transaction. */
export const SEAL_BATCH = 500;

/** What the turn's statement (KyselyStore.recordTurn) inserts into audit_log for a record left for the sealer. */
export interface PendingAuditRow {
  at: string;
  actor: string;
  action: string;
  subject: string | null;
  tenant: string | null;
  /** JSON text. */
  details: string;
  dedupe_key: string;
  pending_mac: string;
}

const PAGE = 1_000;
/** Redacted records listed per redaction record: its details stay a reasonable size. */
const REDACTION_LIST = 500;

/**
 * The audit log's hash chain in the database (the chain itself: core/security/audit-chain.ts).
 * Appends lock the chain head row inside one transaction, so any number of hub processes sharing
 * one PostgreSQL append one after another and the chain stays one line.
 *
 * A turn's record takes no lock: the turn's one statement inserts it pending ({@link pendingRow},
 * signed with a MAC under the same key) and the sealer ({@link seal}, run every second by the
 * worker processes: core/store/audit-sealer.ts) chains the pending records in id order, a batch per
 * transaction. Appends, redaction and purge seal what is pending first, under the same lock.
 */
export class AuditLog {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly key: Buffer,
  ) {}

  async append(entry: AuditAppend): Promise<{ seq: number; appended: boolean }> {
    return this.db.transaction().execute((trx) => this.appendIn(trx, entry));
  }

  /**
   * A record for the turn's one statement: not chained, signed with {@link pendingMac}. The sealer
   * ({@link seal}) chains it within a second or so; a dedupe key is required (it makes a copy of
   * the row, MAC and all, a unique-key violation).
   */
  pendingRow(entry: AuditAppend & { dedupeKey: string }): PendingAuditRow {
    const fields: PendingFields = {
      at: entry.at === undefined ? new Date().toISOString() : isoTime(entry.at, 'audit entry at'),
      actor: cleanText(entry.actor),
      action: cleanText(entry.action),
      subject: entry.subject === undefined ? null : cleanText(entry.subject),
      tenant: entry.tenant === undefined ? null : cleanText(entry.tenant),
      details: JSON.parse(toJson(entry.details ?? {})) as Record<string, unknown>,
      dedupeKey: entry.dedupeKey,
    };
    return {
      at: fields.at,
      actor: fields.actor,
      action: fields.action,
      subject: fields.subject,
      tenant: fields.tenant,
      details: JSON.stringify(fields.details),
      dedupe_key: fields.dedupeKey,
      pending_mac: pendingMac(this.key, fields),
    };
  }

  /** Whether any pending record (a sound one, or one not in `skip`) waits for the sealer: one indexed read. */
  async hasPending(skip: readonly string[] = []): Promise<boolean> {
    let query = this.db
      .selectFrom('audit_log')
      .select('id')
      .where('seq', 'is', null)
      .where('pending_mac', 'is not', null)
      .limit(1);
    if (skip.length > 0) query = query.where('id', 'not in', skip);
    return (await query.executeTakeFirst()) !== undefined;
  }

  /**
   * Chains the pending records, oldest id first, in transactions of `batch`: each locks the chain
   * head, so sealers in several processes (and appends) take turns and the chain stays one line.
   * A record whose MAC does not match is never chained: it stays pending and `verify` names it.
   */
  async seal(batch = SEAL_BATCH): Promise<{ sealed: number; forged: string[] }> {
    let sealed = 0;
    let after = '0';
    const forged: string[] = [];
    for (;;) {
      const from = after;
      const round = await this.db.transaction().execute(async (trx) => {
        const head = await this.lockHead(trx);
        return this.sealBatch(trx, head, batch, from);
      });
      sealed += round.sealed;
      forged.push(...round.forged);
      if (round.read < batch) return { sealed, forged };
      after = round.lastId;
    }
  }

  private lockHead(trx: Transaction<Database>): Promise<{ seq: string; hash: string }> {
    return trx
      .selectFrom('audit_chain_head')
      .select(['seq', 'hash'])
      .where('id', '=', 1)
      .forUpdate()
      .executeTakeFirstOrThrow();
  }

  /** Under the head lock: chains every pending record, and returns the head after them. */
  private async sealAll(
    trx: Transaction<Database>,
    head: { seq: string; hash: string },
  ): Promise<{ seq: string; hash: string }> {
    let current = head;
    let after = '0';
    for (;;) {
      const round = await this.sealBatch(trx, current, SEAL_BATCH, after);
      current = round.head;
      if (round.read < SEAL_BATCH) return current;
      after = round.lastId;
    }
  }

  /**
   * Under the head lock: chains up to `batch` pending records after `head`, in id order from
   * `afterId` on, with one update that also moves the head. Forged rows (bad MAC) are skipped and
   * reported; the next batch starts after the last row read, so they are never read twice.
   */
  private async sealBatch(
    trx: Transaction<Database>,
    head: { seq: string; hash: string },
    batch: number,
    afterId: string,
  ): Promise<{
    read: number;
    lastId: string;
    sealed: number;
    forged: string[];
    head: { seq: string; hash: string };
  }> {
    const rows = await pendingAfter(trx, afterId, batch).execute();
    const lastId = rows.at(-1)?.id ?? afterId;
    let seq = Number(head.seq);
    let prevHash = head.hash;
    const chained: Array<{ id: string; seq: number; prevHash: string; hash: string }> = [];
    const forged: string[] = [];
    for (const row of rows) {
      const fields = { ...pendingFieldsOf(row), seq: seq + 1, prevHash };
      if (
        row.dedupe_key === null ||
        !pendingMacMatches(this.key, pendingFieldsOf(row), row.pending_mac ?? '')
      ) {
        forged.push(row.id);
        continue;
      }
      const hash = chainHash(this.key, fields);
      chained.push({ id: row.id, seq: fields.seq, prevHash, hash });
      seq = fields.seq;
      prevHash = hash;
    }
    if (chained.length === 0) return { read: rows.length, lastId, sealed: 0, forged, head };
    // The rows and the head in one statement; the head lock makes this the only writer of either.
    const values = sql.join(
      chained.map(
        (r) => sql`(${r.id}::bigint, ${String(r.seq)}::bigint, ${r.prevHash}::text, ${r.hash}::text)`,
      ),
    );
    await sql`
      with sealed as (
        update audit_log set seq = v.seq, prev_hash = v.prev_hash, hash = v.hash, pending_mac = null
        from (values ${values}) as v(id, seq, prev_hash, hash)
        where audit_log.id = v.id
      )
      update audit_chain_head set seq = ${String(seq)}::bigint, hash = ${prevHash} where id = 1`.execute(trx);
    return {
      read: rows.length,
      lastId,
      sealed: chained.length,
      forged,
      head: { seq: String(seq), hash: prevHash },
    };
  }

  /**
   * Appends inside the caller's transaction (which then holds the chain head until it ends). The
   * pending records are chained first, under the same lock, so the chain keeps the order of ids.
   */
  private async appendIn(
    trx: Transaction<Database>,
    entry: AuditAppend,
  ): Promise<{ seq: number; appended: boolean }> {
    const details = JSON.parse(toJson(entry.details ?? {})) as Record<string, unknown>;
    const head = await this.sealAll(trx, await this.lockHead(trx));
    const fields: ChainFields = {
      seq: Number(head.seq) + 1,
      prevHash: head.hash,
      at: entry.at === undefined ? new Date().toISOString() : isoTime(entry.at, 'audit entry at'),
      actor: cleanText(entry.actor),
      action: cleanText(entry.action),
      subject: entry.subject === undefined ? null : cleanText(entry.subject),
      tenant: entry.tenant === undefined ? null : cleanText(entry.tenant),
      details,
    };
    const hash = chainHash(this.key, fields);
    // One statement inserts the record and moves the head: a round trip less per append. A record
    // with this dedupe key already there (a redelivered turn) inserts nothing and leaves the head.
    const moved = await sql<{ seq: string }>`
      with inserted as (
        insert into audit_log (seq, prev_hash, hash, at, actor, action, subject, tenant, details, dedupe_key)
        values (${String(fields.seq)}, ${fields.prevHash}, ${hash}, ${fields.at}, ${fields.actor},
          ${fields.action}, ${fields.subject}, ${fields.tenant}, ${JSON.stringify(details)}::jsonb,
          ${entry.dedupeKey ?? null})
        on conflict (dedupe_key) do nothing
        returning seq
      )
      update audit_chain_head set seq = inserted.seq, hash = ${hash}
      from inserted where audit_chain_head.id = 1
      returning audit_chain_head.seq`.execute(trx);
    if (moved.rows.length > 0) return { seq: fields.seq, appended: true };
    const first = await trx
      .selectFrom('audit_log')
      .select('seq')
      .where('dedupe_key', '=', entry.dedupeKey ?? '')
      .executeTakeFirstOrThrow();
    return { seq: Number(first.seq), appended: false };
  }

  /**
   * Redacts the records about erased conversations (by subject, by the `eventId` of a turn's
   * details, or by a ticket record's `details.conversation`): subject null, details {@link REDACTED_DETAILS}. In the same transaction, records of
   * action {@link REDACTION_ACTION} by `actor` list each redacted record's seq and hash, which is
   * what lets `verify` accept them. Already redacted records are left alone. Returns how many.
   */
  async redact(
    match: { subjects: string[]; eventIds: string[]; conversations?: string[] },
    actor: string,
  ): Promise<number> {
    const conversations = match.conversations ?? [];
    if (match.subjects.length === 0 && match.eventIds.length === 0 && conversations.length === 0) return 0;
    return this.db.transaction().execute(async (trx) => {
      // Pending records are chained first: a turn's record not sealed yet is redacted like the rest.
      await this.sealAll(trx, await this.lockHead(trx));
      const found = await trx
        .selectFrom('audit_log')
        .select(['seq', 'hash'])
        .where('seq', 'is not', null)
        .where('action', '!=', REDACTION_ACTION)
        .where((eb) =>
          eb.or([
            ...(match.subjects.length > 0 ? [eb('subject', 'in', match.subjects)] : []),
            ...(match.eventIds.length > 0
              ? [eb(sql<string>`details->>'eventId'`, 'in', match.eventIds)]
              : []),
            ...(conversations.length > 0
              ? [eb(sql<string>`details->>'conversation'`, 'in', conversations)]
              : []),
          ]),
        )
        .where(sql<boolean>`details->>'redacted' is null`)
        .orderBy('seq')
        .execute();
      const records = found.map((row) => [Number(row.seq), row.hash ?? ''] as [number, string]);
      for (let i = 0; i < records.length; i += REDACTION_LIST) {
        const chunk = records.slice(i, i + REDACTION_LIST);
        await trx
          .updateTable('audit_log')
          // The dedupe key (`turn:<event id>`) is outside the hash and goes too: an event id may name the chat.
          .set({ subject: null, details: JSON.stringify(REDACTED_DETAILS), dedupe_key: null })
          .where(
            'seq',
            'in',
            chunk.map(([seq]) => String(seq)),
          )
          .execute();
        await this.appendIn(trx, {
          actor,
          action: REDACTION_ACTION,
          subject: 'audit',
          details: { records: chunk, reason: 'customer.erase' },
        });
      }
      return records.length;
    });
  }

  /** seq → hash before redaction, from the redaction records at or after `afterSeq` (verified in the walk). */
  private async redactions(afterSeq: number): Promise<Map<number, string>> {
    const listed = new Map<number, string>();
    const rows = await this.db
      .selectFrom('audit_log')
      .select('details')
      .where('action', '=', REDACTION_ACTION)
      .where('seq', '>', String(afterSeq))
      .execute();
    for (const row of rows) for (const [seq, hash] of redactedRecordsOf(row.details)) listed.set(seq, hash);
    return listed;
  }

  /** Records in chain order, optionally within [since, until). */
  async *records(
    window: { since?: string; until?: string; afterSeq?: number } = {},
  ): AsyncGenerator<ChainedAuditRecord> {
    let after = window.afterSeq ?? 0;
    for (;;) {
      let query = this.db
        .selectFrom('audit_log')
        .selectAll()
        .where('seq', 'is not', null)
        .where('seq', '>', String(after))
        .orderBy('seq')
        .limit(PAGE);
      if (window.since !== undefined)
        query = query.where('at', '>=', isoTime(window.since, 'since') as never);
      if (window.until !== undefined) query = query.where('at', '<', isoTime(window.until, 'until') as never);
      const rows = await query.execute();
      for (const row of rows) yield toRecord(row);
      if (rows.length < PAGE) return;
      after = Number(rows[rows.length - 1]?.seq);
    }
  }

  /**
   * Checks every record from the latest checkpoint on, and that the chain head points at the last.
   * Records still pending (a turn's, waiting for the sealer) are sound while younger than
   * `pendingGraceMs` and their MAC matches; one older, or with a MAC that does not match (written or
   * edited without the key), is a fault.
   */
  async verify(options: { pendingGraceMs?: number } = {}): Promise<AuditVerification> {
    const start = await this.startingPoint();
    if ('fault' in start) return { ok: false, checked: 0, from: start.fault.seq, fault: start.fault };
    const unchained = await this.db
      .selectFrom('audit_log')
      .select('id')
      .where('seq', 'is', null)
      .where('pending_mac', 'is', null)
      .orderBy('id')
      .executeTakeFirst();
    const pendingFault = await this.pendingFault(options.pendingGraceMs ?? PENDING_GRACE_MS);
    const verifier = new ChainVerifier(this.key, start, await this.redactions(start.seq));
    const result = (fault?: ChainFault): AuditVerification => ({
      ok: fault === undefined,
      checked: verifier.checked,
      from: start.seq,
      ...(verifier.redacted > 0 ? { redacted: verifier.redacted } : {}),
      ...(fault ? { fault } : {}),
    });
    for await (const record of this.records({ afterSeq: start.seq })) {
      const fault = verifier.check({
        ...record,
        subject: record.subject ?? null,
        tenant: record.tenant ?? null,
      });
      if (fault) return result(fault);
    }
    const head = await this.db
      .selectFrom('audit_chain_head')
      .select(['seq', 'hash'])
      .where('id', '=', 1)
      .executeTakeFirstOrThrow();
    const last = verifier.last;
    if (Number(head.seq) !== last.seq || head.hash !== last.hash) {
      const seq = last.seq + 1;
      return result({
        seq,
        reason: Number(head.seq) > last.seq ? 'deleted' : 'truncated',
        message:
          Number(head.seq) > last.seq
            ? `records ${seq} to ${head.seq} are missing (deleted at the end of the log)`
            : `the chain head (record ${head.seq}) does not point at the last record (${last.seq})`,
      });
    }
    if (unchained) {
      return result({
        seq: last.seq + 1,
        reason: 'unchained',
        message: `row id ${unchained.id} has no sequence number: it was written outside the chain`,
      });
    }
    if (pendingFault) return result({ ...pendingFault, seq: last.seq + 1 });
    return result();
  }

  /** The first pending record that is forged (checked first) or older than `graceMs`. */
  private async pendingFault(graceMs: number): Promise<Omit<ChainFault, 'seq'> | undefined> {
    let stale: Omit<ChainFault, 'seq'> | undefined;
    let after = '0';
    for (;;) {
      const rows = await pendingAfter(this.db, after, PAGE)
        .select(
          sql<boolean>`at < now() - (${Math.max(0, Math.round(graceMs))}::integer * interval '1 millisecond')`.as(
            'overdue',
          ),
        )
        .execute();
      for (const row of rows) {
        if (
          row.dedupe_key === null ||
          !pendingMacMatches(this.key, pendingFieldsOf(row), row.pending_mac ?? '')
        ) {
          return {
            reason: 'forged',
            message: `pending row id ${row.id} does not match its MAC: it was written or edited without the audit key`,
          };
        }
        if (row.overdue && !stale) {
          stale = {
            reason: 'pending',
            message: `pending row id ${row.id} (at ${row.at.toISOString()}) was never chained: is the sealer running?`,
          };
        }
      }
      if (rows.length < PAGE) return stale;
      after = rows[rows.length - 1]?.id ?? after;
    }
  }

  /**
   * Deletes records older than `before`, as a prefix of the chain, and leaves a signed checkpoint
   * of the last one deleted, so the rest still verifies. Runs under the chain lock.
   */
  async purge(before: string): Promise<{ purged: number; checkpoint?: Checkpoint }> {
    const cutoff = isoTime(before, 'purge before');
    return this.db.transaction().execute(async (trx) => {
      // Pending records are chained first, so none is left outside the chain behind the purged prefix.
      await this.sealAll(trx, await this.lockHead(trx));
      // The chain is kept whole from the first record at or after the cutoff (times given by callers need not rise).
      const firstKept = await trx
        .selectFrom('audit_log')
        .select((eb) => eb.fn.min('seq').as('seq'))
        .where('seq', 'is not', null)
        .where('at', '>=', cutoff as never)
        .executeTakeFirst();
      let lastPurged = trx
        .selectFrom('audit_log')
        .select(['seq', 'hash'])
        .where('seq', 'is not', null)
        .orderBy('seq', 'desc')
        .limit(1);
      if (firstKept?.seq != null) lastPurged = lastPurged.where('seq', '<', String(firstKept.seq));
      const last = await lastPurged.executeTakeFirst();
      if (!last?.seq || !last.hash) return { purged: 0 };
      const checkpoint: Checkpoint = { seq: Number(last.seq), hash: last.hash, at: new Date().toISOString() };
      await trx
        .insertInto('audit_checkpoints')
        .values({
          ...checkpoint,
          seq: String(checkpoint.seq),
          signature: checkpointSignature(this.key, checkpoint),
        })
        .execute();
      const deleted = await trx.deleteFrom('audit_log').where('seq', '<=', last.seq).executeTakeFirst();
      return { purged: Number(deleted.numDeletedRows), checkpoint };
    });
  }

  private async startingPoint(): Promise<{ seq: number; hash: string } | { fault: ChainFault }> {
    const latest = await this.db
      .selectFrom('audit_checkpoints')
      .selectAll()
      .orderBy('seq', 'desc')
      .limit(1)
      .executeTakeFirst();
    if (!latest) return { seq: 0, hash: GENESIS_HASH };
    const checkpoint: Checkpoint = {
      seq: Number(latest.seq),
      hash: latest.hash,
      at: latest.at.toISOString(),
    };
    if (!checkpointIsSigned(this.key, checkpoint, latest.signature)) {
      return {
        fault: {
          seq: checkpoint.seq,
          reason: 'checkpoint',
          message: `the retention checkpoint at record ${checkpoint.seq} is not signed by this key (edited)`,
        },
      };
    }
    return { seq: checkpoint.seq, hash: checkpoint.hash };
  }
}

function pendingFieldsOf(
  row: Pick<
    Selectable<AuditLogTable>,
    'at' | 'actor' | 'action' | 'subject' | 'tenant' | 'details' | 'dedupe_key'
  >,
): PendingFields {
  return {
    at: row.at.toISOString(),
    actor: row.actor,
    action: row.action,
    subject: row.subject,
    tenant: row.tenant,
    details: row.details,
    dedupeKey: row.dedupe_key ?? '',
  };
}

function toRecord(row: Selectable<AuditLogTable>): ChainedAuditRecord {
  return {
    seq: Number(row.seq),
    at: row.at.toISOString(),
    actor: row.actor,
    action: row.action,
    ...(row.subject === null ? {} : { subject: row.subject }),
    ...(row.tenant === null ? {} : { tenant: row.tenant }),
    details: row.details,
    prevHash: row.prev_hash ?? '',
    hash: row.hash ?? '',
  };
}

/** Pending records (written outside the chain, with a MAC) after `afterId`, in id order, `limit` of them. */
function pendingAfter(db: Kysely<Database> | Transaction<Database>, afterId: string, limit: number) {
  return db
    .selectFrom('audit_log')
    .select(['id', 'at', 'actor', 'action', 'subject', 'tenant', 'details', 'dedupe_key', 'pending_mac'])
    .where('seq', 'is', null)
    .where('pending_mac', 'is not', null)
    .where('id', '>', afterId)
    .orderBy('id')
    .limit(limit);
}
