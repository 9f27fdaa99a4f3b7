/**
 * What the hub puts on record, and in what words: every operator action and every bot turn, each
 * appended to the audit chain (core/store/audit-log.ts, hashed by ./audit-chain.ts).
 *
 * Anyone adding an operator action calls {@link recordOperatorAction} once the action has
 * happened (and a failed login once it has failed), with the acting operator as `actor`.
 */

/** Where records go: `KyselyStore` is one. */
export interface AuditSink {
  audit(entry: {
    actor: string;
    action: string;
    subject?: string;
    tenant?: string;
    details?: Record<string, unknown>;
    dedupeKey?: string;
  }): Promise<{ seq: number; appended: boolean }>;
}

/** The actor of a route guarded by the shared admin token (HUB_ADMIN_TOKEN), until operators sign in. */
export const ADMIN_TOKEN_ACTOR = 'admin-token';
/** The actor of a command run on the server (`hub dlq --replay`, `hub audit purge`). */
export const CLI_ACTOR = 'cli';
/** The actor of the hub's own scheduled jobs (the retention purge). */
export const SCHEDULER_ACTOR = 'scheduler';
export const BOT_ACTOR = 'bot';

export type OperatorAction =
  | 'login'
  | 'logout'
  | 'login.failed'
  | 'role.change'
  | 'operator.create'
  | 'operator.disable'
  | 'ticket.take'
  | 'ticket.assign'
  | 'ticket.note'
  | 'ticket.reply'
  | 'ticket.solve'
  | 'ticket.close'
  | 'file.download'
  | 'conversation.read'
  | 'dlq.replay'
  | 'key.create'
  | 'key.revoke'
  | 'data_keys.rotate'
  | 'config.reload'
  | 'audit.purge'
  | 'retention.purge'
  | 'customer.erase'
  | 'intent.label'
  | 'intent.label.approve'
  | 'intent.label.reject'
  | 'intent.evaluate'
  | 'knowledge.publish'
  | 'knowledge.reject';

export interface OperatorActionRecord {
  /** Who did it: an operator id, {@link ADMIN_TOKEN_ACTOR} or {@link CLI_ACTOR}. For a failed login, the name tried. */
  actor: string;
  action: OperatorAction;
  /** What it was done to: `ticket:<adapter>:<id>`, `file:<path>`, `dlq:<id>`, `key:<id>`, `operator:<id>`. */
  subject?: string;
  tenant?: string;
  /** Anything else worth keeping (never a secret or a password): role before/after, IP, outcome. */
  details?: Record<string, unknown>;
}

/** Appends `operator.<action>`; resolves once the record is committed. */
export function recordOperatorAction(
  sink: AuditSink,
  record: OperatorActionRecord,
): Promise<{ seq: number }> {
  return sink.audit({
    actor: record.actor,
    action: `operator.${record.action}`,
    ...(record.subject === undefined ? {} : { subject: record.subject }),
    ...(record.tenant === undefined ? {} : { tenant: record.tenant }),
    details: record.details ?? {},
  });
}

/** Why the bot did what it did in one turn, as the audit trail keeps it. */
export interface TurnAuditRecord {
  eventId: string;
  conversationKey: string;
  channel: string;
  tenant: string;
  intent?: { name: string; confidence: number; tier: string };
  /** The policy's move: answer, flow, handoff (with its reason), wait or silent. */
  decision?: string;
  retrieved: Array<{ id: string; score: number }>;
  /** `model@version` of the release that wrote the answer; absent when no model did. */
  model?: string;
  /** The actions the turn ran (answer, ERP look-ups, tickets): the adapters it called. */
  actions: string[];
  citations: string[];
  /** Who wrote the replies: llm, extractive, flow, system. */
  source?: string;
  replies: string[];
  latencyMs: number;
  /** answered (replies stored), silent (none), or recovered (stored by an earlier attempt that died). */
  outcome: 'answered' | 'silent' | 'recovered';
}

export const TURN_ACTION = 'bot.turn';

/** Appends the turn's record once: a redelivered event finds the first and appends nothing. */
export function recordTurn(
  sink: AuditSink,
  record: TurnAuditRecord,
): Promise<{ seq: number; appended: boolean }> {
  return sink.audit(turnAuditEntry(record));
}

/** The turn's record as the chain keeps it, keyed `turn:<event id>` (also what the turn's one statement writes pending). */
export function turnAuditEntry(record: TurnAuditRecord) {
  const { eventId, conversationKey, tenant, ...details } = record;
  return {
    actor: BOT_ACTOR,
    action: TURN_ACTION,
    subject: conversationKey,
    tenant,
    dedupeKey: `turn:${eventId}`,
    details: { eventId, ...details },
  };
}
