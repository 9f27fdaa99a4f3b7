import { type Kysely, sql } from 'kysely';
import type { AtRest } from '../privacy/at-rest';
import { ticketDb } from '../tickets/schema';
import { conversationKey } from '../types/conversation';
import type { InboundEvent } from '../types/events';
import { atRestOf } from './at-rest';
import { type CustomerTarget, resolveCustomerTarget } from './customer-lookup';
import { openMessagePayload } from './rows';
import type { Database } from './schema';

/**
 * The right to be forgotten: everything the hub keeps about one customer leaves the database, and
 * their conversations' dialog state leaves the state store.
 *
 * A conversation only this customer wrote in (a direct chat) goes whole: its messages, the bot's
 * replies, its ticket requests with their outbox rows and comments, and the demo helpdesk's copy of
 * those tickets. In a conversation others wrote in too (a group), only this customer's messages
 * and the replies to them go; the conversation, and its tickets, stay for the others. Tickets a
 * real helpdesk already holds cannot be deleted from here: the report lists them.
 *
 * Rows are found by the customer's id and by the keyed hashes the store keeps (conversation keys,
 * platform user ids); what is sealed at rest (payloads, rejected webhook bodies, a conversation's
 * platform id) is opened here where the erasure needs it: the files a customer sent, the webhooks
 * that name them, each conversation's key in clear for its dialog state and its business metrics.
 */

export interface EraseCounts {
  customers: number;
  identities: number;
  conversations: number;
  messages: number;
  ticketRequests: number;
  ticketComments: number;
  demoTickets: number;
  rejectedWebhooks: number;
  dialogStates: number;
  /** Business metrics rows (core/analytics): the erased conversations' rows and facts, the customer's own turn facts. */
  businessMetrics: number;
  /** Audit records about the customer's conversations whose subject and details were redacted. */
  auditRecords: number;
  /**
   * Intent labels of the customer's turns (core/intents, migration 0014), pending or approved: an
   * approved one leaves the learned-examples file at its next export (`hub intents labels export`).
   */
  intentLabels: number;
}

export interface EraseReport {
  /** The customer ids erased; empty when nothing was left (a second erase). */
  customerIds: string[];
  counts: EraseCounts;
  /** Group conversations the customer wrote in: their messages went, the conversation stayed. */
  sharedConversations: number;
  /** Tickets a helpdesk outside the hub holds: delete them there. */
  externalTickets: Array<{ adapter: string; externalId: string; url?: string }>;
}

export interface EraseDeps {
  /** The dialog state of each erased conversation is deleted here (core/state). */
  states?: { delete(conversationKey: string): Promise<void> };
  /**
   * Redacts audit records about the erased conversations, in a way the chain tolerates
   * (core/store/audit-log.ts `redact`); returns how many. Absent: the audit log is left as it is.
   */
  redactAudit?: (match: AuditMatch) => Promise<number>;
  /**
   * The business metrics' pseudonym of a conversation key in clear (core/analytics/store.ts
   * `AnalyticsStore.pseudonym`). Absent: the metrics tables are left as they are.
   */
  pseudonym?: (conversationKey: string) => string;
}

/** Which audit records are about an erased customer. */
export interface AuditMatch {
  /** Record subjects: conversation keys (turns), `file:<channel>:<id>` (downloads). */
  subjects: string[];
  /** Conversation keys named in details (`details.conversation`: the agent console's ticket records). */
  conversations: string[];
  /** The customer's own event ids (`details.eventId`: their turns in a group). */
  eventIds: string[];
}

function emptyCounts(): EraseCounts {
  return {
    customers: 0,
    identities: 0,
    conversations: 0,
    messages: 0,
    ticketRequests: 0,
    ticketComments: 0,
    demoTickets: 0,
    rejectedWebhooks: 0,
    dialogStates: 0,
    businessMetrics: 0,
    auditRecords: 0,
    intentLabels: 0,
  };
}

/** Erases the customer(s) a target names; erasing one already gone reports zeros. */
export async function eraseCustomer(
  db: Kysely<Database>,
  target: CustomerTarget,
  deps: EraseDeps = {},
): Promise<EraseReport> {
  const atRest = atRestOf(db);
  const customerIds = await resolveCustomerTarget(db, target);
  const report: EraseReport = {
    customerIds,
    counts: emptyCounts(),
    sharedConversations: 0,
    externalTickets: [],
  };
  const stateKeys: string[] = [];
  const ownedKeys: string[] = [];
  const erasedEventIds: string[] = [];
  const fileSubjects: string[] = [];
  for (const customerId of customerIds) {
    const one = await eraseOne(db, atRest, customerId, deps.pseudonym);
    for (const key of Object.keys(report.counts) as Array<keyof EraseCounts>)
      report.counts[key] += one.counts[key];
    report.sharedConversations += one.shared;
    report.externalTickets.push(...one.externalTickets);
    stateKeys.push(...one.ownedClearKeys, ...one.sharedClearKeys);
    // Audit subjects are the stored (hashed) keys; records from before encryption at rest, the keys in clear.
    ownedKeys.push(...one.ownedKeys, ...one.ownedClearKeys);
    fileSubjects.push(...one.fileSubjects);
    erasedEventIds.push(...one.inboundIds);
  }
  if (target.kind === 'identity') {
    report.counts.rejectedWebhooks = await eraseRejectedWebhooks(db, atRest, target.channel, target.userId);
  }
  // A group's state goes too: its history and slots hold this customer's turns (the group starts afresh).
  for (const key of stateKeys) {
    await deps.states?.delete(key);
    report.counts.dialogStates += deps.states ? 1 : 0;
  }
  if (deps.redactAudit && (ownedKeys.length > 0 || erasedEventIds.length > 0)) {
    // A direct chat's records by conversation; in a group, only the records of this customer's own
    // turns; and the downloads of the files they sent.
    report.counts.auditRecords = await deps.redactAudit({
      subjects: [...ownedKeys, ...fileSubjects],
      conversations: ownedKeys,
      eventIds: erasedEventIds,
    });
  }
  return report;
}

/**
 * Signed payloads no connector could read: the user's id in the body is all that ties one to them.
 * The bodies are sealed, so the channel's rows are opened here; the table keeps its newest rows
 * only (`REJECTED_KEEP_ROWS`, core/channels/rejected-webhooks.ts), which bounds the read.
 */
async function eraseRejectedWebhooks(
  db: Kysely<Database>,
  atRest: AtRest,
  channel: string,
  userId: string,
): Promise<number> {
  const { rows } = await sql<{ id: string; body: string }>`
    select id::text as id, body from rejected_webhooks where channel = ${channel}`.execute(db);
  const where = { table: 'rejected_webhooks', column: 'body', row: channel };
  const naming = rows.filter((row) => atRest.open(row.body, where).includes(userId)).map((row) => row.id);
  if (naming.length === 0) return 0;
  const { rows: gone } = await sql`delete from rejected_webhooks
    where id::text in (${sql.join(naming)}) returning 1`.execute(db);
  return gone.length;
}

interface OneErased {
  counts: EraseCounts;
  shared: number;
  externalTickets: EraseReport['externalTickets'];
  /** Conversations only this customer wrote in: gone whole. */
  ownedKeys: string[];
  /** Group conversations: this customer's messages went. */
  sharedKeys: string[];
  /** The same conversations' keys in clear (the dialog state and the metrics' pseudonyms are keyed by them). */
  ownedClearKeys: string[];
  sharedClearKeys: string[];
  /** `file:<channel>:<file id>` of the files in the erased messages (download records name them). */
  fileSubjects: string[];
  /** The customer's own inbound event ids (their turns' audit records name them). */
  inboundIds: string[];
}

async function eraseOne(
  db: Kysely<Database>,
  atRest: AtRest,
  customerId: string,
  pseudonym: EraseDeps['pseudonym'],
): Promise<OneErased> {
  return db.transaction().execute(async (plain) => {
    const trx = ticketDb(plain);
    const counts = emptyCounts();
    const { rows: found } = await sql<{
      key: string;
      channel: string;
      tenant: string;
      conversation: string;
      thread: string | null;
      shared: boolean;
    }>`
      select c.key, c.channel, c.tenant, c.conversation, c.thread, exists (
        select 1 from messages o where o.conversation_key = c.key and o.direction = 'in'
          and o.customer_id is not null and o.customer_id <> ${customerId}) as shared
      from conversations c
      where c.customer_id = ${customerId}
         or c.key in (select m.conversation_key from messages m where m.customer_id = ${customerId})
      order by c.key`.execute(plain);
    // The stored key is a keyed hash; the platform's conversation and thread ids are sealed, bound to it.
    const conversations = found.map((c) => {
      const where = (column: string) => ({ table: 'conversations', column, row: c.key });
      const thread = atRest.openOrNull(c.thread, where('thread'));
      const clearKey = conversationKey({
        channel: c.channel,
        tenant: c.tenant,
        conversation: atRest.open(c.conversation, where('conversation')),
        ...(thread === null ? {} : { thread }),
      });
      return { key: c.key, clearKey, shared: c.shared };
    });
    const owned = conversations.filter((c) => !c.shared).map((c) => c.key);
    const shared = conversations.filter((c) => c.shared).map((c) => c.key);
    const ownedClearKeys = conversations.filter((c) => !c.shared).map((c) => c.clearKey);
    const sharedClearKeys = conversations.filter((c) => c.shared).map((c) => c.clearKey);
    const inbound = await trx
      .selectFrom('messages')
      .select('id')
      .where('customer_id', '=', customerId)
      .execute();
    const inboundIds = inbound.map((row) => row.id);
    // Files the customer sent: an operator's download of one is on record under `file:<channel>:<id>`.
    // The payloads are sealed: the customer's messages are opened here (a customer's own, not a table scan).
    const sent = await plain
      .selectFrom('messages as m')
      .innerJoin('conversations as c', 'c.key', 'm.conversation_key')
      .select(['m.id', 'm.payload', 'c.channel'])
      .where('m.direction', '=', 'in')
      .where((eb) =>
        eb.or([
          eb('m.customer_id', '=', customerId),
          ...(owned.length > 0 ? [eb('m.conversation_key', 'in', owned)] : []),
        ]),
      )
      .execute();
    const fileSubjects = new Set<string>();
    for (const message of sent) {
      const payload = openMessagePayload(atRest, message) as Partial<InboundEvent>;
      const attachments = Array.isArray(payload.attachments) ? payload.attachments : [];
      for (const attachment of attachments) {
        if (typeof attachment?.fileId === 'string')
          fileSubjects.add(`file:${message.channel}:${attachment.fileId}`);
      }
    }

    const externalTickets: OneErased['externalTickets'] = [];
    if (owned.length > 0) {
      const requests = await trx
        .selectFrom('ticket_requests')
        .select(['id', 'adapter', 'external_id', 'external_url'])
        .where('conversation_key', 'in', owned)
        .execute();
      const requestIds = requests.map((r) => r.id);
      if (requestIds.length > 0) {
        const demo = await trx
          .deleteFrom('demo_tickets')
          .where('idempotency_key', 'in', requestIds)
          .returning('idempotency_key')
          .execute();
        counts.demoTickets = demo.length;
        const local = new Set(demo.map((d) => d.idempotency_key));
        for (const r of requests) {
          if (r.external_id !== null && !local.has(r.id)) {
            externalTickets.push({
              adapter: r.adapter,
              externalId: r.external_id,
              ...(r.external_url ? { url: r.external_url } : {}),
            });
          }
        }
        const comments = await trx
          .deleteFrom('ticket_comments')
          .where('request_id', 'in', requestIds)
          .returning('id')
          .execute();
        counts.ticketComments += comments.length;
        // The outbox rows go with their request (on delete cascade): nothing of it is sent any more.
        const deleted = await trx
          .deleteFrom('ticket_requests')
          .where('id', 'in', requestIds)
          .returning('id')
          .execute();
        counts.ticketRequests = deleted.length;
      }
      const messages = await trx
        .deleteFrom('messages')
        .where('conversation_key', 'in', owned)
        .returning('id')
        .execute();
      counts.messages += messages.length;
      const gone = await trx.deleteFrom('conversations').where('key', 'in', owned).returning('key').execute();
      counts.conversations = gone.length;
    }
    if (shared.length > 0) {
      const mine = inboundIds;
      if (mine.length > 0) {
        const comments = await trx
          .deleteFrom('ticket_comments')
          .where('event_id', 'in', mine)
          .returning('id')
          .execute();
        counts.ticketComments += comments.length;
      }
      const messages = await trx
        .deleteFrom('messages')
        .where((eb) =>
          eb.or([
            eb('customer_id', '=', customerId),
            ...(mine.length > 0 ? [eb('in_reply_to', 'in', mine)] : []),
          ]),
        )
        .returning('id')
        .execute();
      counts.messages += messages.length;
      await trx
        .updateTable('conversations')
        .set({ customer_id: null })
        .where('customer_id', '=', customerId)
        .execute();
    }
    if (pseudonym)
      counts.businessMetrics = await eraseBusinessMetrics(plain, ownedClearKeys, inboundIds, pseudonym);
    if (inboundIds.length > 0) {
      // The table is core/intents' own (migration 0014): keyed by the turn's event id.
      const { rows } = await sql`delete from intent_labels where event_id in (${sql.join(inboundIds)})
        returning 1`.execute(plain);
      counts.intentLabels = rows.length;
    }
    const identities = await trx
      .deleteFrom('channel_identities')
      .where('customer_id', '=', customerId)
      .returning('user_id')
      .execute();
    counts.identities = identities.length;
    const customer = await trx.deleteFrom('customers').where('id', '=', customerId).returning('id').execute();
    counts.customers = customer.length;
    return {
      counts,
      shared: shared.length,
      externalTickets,
      ownedKeys: owned,
      sharedKeys: shared,
      ownedClearKeys,
      sharedClearKeys,
      fileSubjects: [...fileSubjects],
      inboundIds,
    };
  });
}

/**
 * Business metrics (core/analytics, migration 0011) name a conversation by the pseudonym of its key:
 * a conversation that went whole loses its rows and their facts; in a group, the facts of the
 * customer's own turns go (by event id) and the conversation's row stays for the others.
 */
async function eraseBusinessMetrics(
  db: Kysely<Database>,
  ownedClearKeys: string[],
  inboundIds: string[],
  pseudonym: (conversationKey: string) => string,
): Promise<number> {
  let erased = 0;
  if (ownedClearKeys.length > 0) {
    const hashes = sql.join(ownedClearKeys.map(pseudonym));
    const { rows: facts } = await sql`delete from turn_facts where conversation_id in (
      select id from conversation_outcomes where conversation_hash in (${hashes})) returning 1`.execute(db);
    const { rows: outcomes } = await sql`delete from conversation_outcomes
      where conversation_hash in (${hashes}) returning 1`.execute(db);
    erased += facts.length + outcomes.length;
  }
  if (inboundIds.length > 0) {
    const { rows } =
      await sql`delete from turn_facts where event_id in (${sql.join(inboundIds)}) returning 1`.execute(db);
    erased += rows.length;
  }
  return erased;
}
