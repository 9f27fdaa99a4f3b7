import { createHmac } from 'node:crypto';
import { constantTimeEqual } from '../resilience/constant-time';

/**
 * The hash chain of the audit log, without storage: what is hashed, how, and how a sequence of
 * records is checked. Each record's hash is HMAC-SHA256(key, canonical record), and the canonical
 * record includes the previous record's hash, so editing, deleting or reordering any record breaks
 * the chain at that record. Without the key nobody can recompute a consistent chain after an edit.
 */

/** The hash that precedes record 1. */
export const GENESIS_HASH = '';

export interface ChainFields {
  seq: number;
  prevHash: string;
  /** ISO-8601 UTC with milliseconds, as `Date#toISOString` writes it (what the database gives back). */
  at: string;
  actor: string;
  action: string;
  subject: string | null;
  tenant: string | null;
  details: Record<string, unknown>;
}

/**
 * One record as bytes that do not depend on key order or on how the database stores JSON
 * (jsonb reorders keys): a JSON array of the fields, objects with their keys sorted.
 */
export function canonicalRecord(fields: ChainFields): string {
  return JSON.stringify([fields.seq, fields.prevHash, ...recordContent(fields)]);
}

/** What a record says, in the order both the chain hash and the pending MAC cover it. */
function recordContent(fields: Omit<ChainFields, 'seq' | 'prevHash'>): unknown[] {
  return [fields.at, fields.actor, fields.action, fields.subject, fields.tenant, sortKeys(fields.details)];
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  const sorted: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort())
    sorted[key] = sortKeys((value as Record<string, unknown>)[key]);
  return sorted;
}

export function chainHash(key: Buffer, fields: ChainFields): string {
  return createHmac('sha256', key).update(canonicalRecord(fields)).digest('hex');
}

/** A record written outside the chain, waiting for the sealer: its fields and the key it is deduplicated by. */
export type PendingFields = Omit<ChainFields, 'seq' | 'prevHash'> & { dedupeKey: string };

/**
 * The MAC a pending record carries until it is chained (core/store/audit-log.ts `seal`). It covers
 * the fields the chain hash will cover and the dedupe key (unique in the table, so a copy of a
 * pending row cannot be added under its MAC); without the key nobody can forge or edit one.
 */
export function pendingMac(key: Buffer, fields: PendingFields): string {
  return createHmac('sha256', key)
    .update(JSON.stringify(['pending', ...recordContent(fields), fields.dedupeKey]))
    .digest('hex');
}

export function pendingMacMatches(key: Buffer, fields: PendingFields, mac: string): boolean {
  return constantTimeEqual(pendingMac(key, fields), mac);
}

/** A retention purge's promise that record `seq` had hash `hash`: where verification starts after it. */
export interface Checkpoint {
  seq: number;
  hash: string;
  at: string;
}

export function checkpointSignature(key: Buffer, checkpoint: Checkpoint): string {
  return createHmac('sha256', key)
    .update(JSON.stringify(['checkpoint', checkpoint.seq, checkpoint.hash, checkpoint.at]))
    .digest('hex');
}

export function checkpointIsSigned(key: Buffer, checkpoint: Checkpoint, signature: string): boolean {
  return constantTimeEqual(checkpointSignature(key, checkpoint), signature);
}

/**
 * Erasing a customer (core/store/erase.ts) redacts the audit records about them: subject null,
 * details replaced by this. Their hash cannot be recomputed any more, so a later record of action
 * {@link REDACTION_ACTION} lists each one's seq and hash (details `records: [[seq, hash], ...]`);
 * the verifier accepts a record that does not match its hash only when it is listed there and
 * reads exactly like this. Actor, action, time and tenant stay, and still say what happened.
 */
export const REDACTED_DETAILS = { redacted: true } as const;
export const REDACTION_ACTION = 'audit.redact';

/** The `[seq, hash]` pairs a redaction record's details list; malformed entries are ignored. */
export function redactedRecordsOf(details: Record<string, unknown>): Array<[number, string]> {
  const records = details.records;
  if (!Array.isArray(records)) return [];
  return records.flatMap((entry) =>
    Array.isArray(entry) && typeof entry[0] === 'number' && typeof entry[1] === 'string'
      ? [[entry[0], entry[1]] as [number, string]]
      : [],
  );
}

export interface StoredChainRecord extends ChainFields {
  hash: string;
}

export type ChainFaultReason =
  | 'deleted'
  | 'reordered'
  | 'edited'
  | 'unchained'
  | 'checkpoint'
  | 'truncated'
  /** A pending record older than the grace period: the sealer has not run (or cannot chain it). */
  | 'pending'
  /** A pending record whose MAC does not match its fields: written or edited without the key. */
  | 'forged';

export interface ChainFault {
  /** The first sequence number that does not verify. */
  seq: number;
  reason: ChainFaultReason;
  message: string;
}

/**
 * Walks records in sequence order from a starting point (record 0 with the genesis hash, or a
 * checkpoint) and names the first one that breaks the chain, and why.
 */
export class ChainVerifier {
  private expectedSeq: number;
  private previousHash: string;
  checked = 0;
  /** Records accepted as redacted (see {@link REDACTED_DETAILS}). */
  redacted = 0;

  constructor(
    private readonly key: Buffer,
    start: { seq: number; hash: string } = { seq: 0, hash: GENESIS_HASH },
    /**
     * seq → the hash the record had before it was redacted, as later records of action
     * {@link REDACTION_ACTION} list them. Those lists are chained records themselves, so nobody
     * without the key can add to them; a record found here keeps its place by its stored hash.
     */
    private readonly redactions: ReadonlyMap<number, string> = new Map(),
  ) {
    this.expectedSeq = start.seq + 1;
    this.previousHash = start.hash;
  }

  /** The last verified position: where the chain head must point. */
  get last(): { seq: number; hash: string } {
    return { seq: this.expectedSeq - 1, hash: this.previousHash };
  }

  private isAuthorizedRedaction(record: StoredChainRecord): boolean {
    const listed = this.redactions.get(record.seq);
    return (
      listed !== undefined &&
      constantTimeEqual(listed, record.hash) &&
      record.subject === null &&
      JSON.stringify(sortKeys(record.details)) === JSON.stringify(REDACTED_DETAILS)
    );
  }

  check(record: StoredChainRecord): ChainFault | undefined {
    const seq = this.expectedSeq;
    if (record.seq > seq) {
      return { seq, reason: 'deleted', message: `record ${seq} is missing (deleted)` };
    }
    if (record.seq < seq) {
      return { seq: record.seq, reason: 'reordered', message: `record ${record.seq} appears twice` };
    }
    if (record.prevHash !== this.previousHash) {
      return {
        seq,
        reason: 'reordered',
        message: `record ${seq} does not follow record ${seq - 1} (records swapped, reordered or replaced)`,
      };
    }
    if (!constantTimeEqual(chainHash(this.key, record), record.hash)) {
      if (!this.isAuthorizedRedaction(record)) {
        return { seq, reason: 'edited', message: `record ${seq} does not match its hash (edited)` };
      }
      this.redacted += 1;
    }
    this.expectedSeq = seq + 1;
    this.previousHash = record.hash;
    this.checked += 1;
    return undefined;
  }
}
