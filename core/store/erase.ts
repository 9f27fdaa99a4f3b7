import { type Kysely, sql } from 'kysely';
import { ticketDb } from '../tickets/schema';
import { type CustomerTarget, resolveCustomerTarget } from './customer-lookup';
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
  /** Audit records about the customer's conversations whose subject and details were redacted. */
  auditRecords: number;
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
    auditRecords: 0,
  };
}

/** Erases the customer(s) a target names; erasing one already gone reports zeros. */
export async function eraseCustomer(
  db: Kysely<Database>,
  target: CustomerTarget,
  deps: EraseDeps = {},
): Promise<EraseReport> {
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
    const one = await eraseOne(db, customerId);
    for (const key of Object.keys(report.counts) as Array<keyof EraseCounts>)
      report.counts[key] += one.counts[key];
    report.sharedConversations += one.shared;
    report.externalTickets.push(...one.externalTickets);
    stateKeys.push(...one.ownedKeys, ...one.sharedKeys);
    ownedKeys.push(...one.ownedKeys);
    fileSubjects.push(...one.fileSubjects);
    erasedEventIds.push(...one.inboundIds);
  }
  if (target.kind === 'identity') {
    // Signed payloads no connector could read: the user's id in the body is all that ties one to them.
    const { rows } = await sql`delete from rejected_webhooks
      where channel = ${target.channel} and strpos(body, ${target.userId}) > 0 returning 1`.execute(db);
    report.counts.rejectedWebhooks = rows.length;
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

interface OneErased {
  counts: EraseCounts;
  shared: number;
  externalTickets: EraseReport['externalTickets'];
  /** Conversations only this customer wrote in: gone whole. */
  ownedKeys: string[];
  /** Group conversations: this customer's messages went. */
  sharedKeys: string[];
  /** `file:<channel>:<file id>` of the files in the erased messages (download records name them). */
  fileSubjects: string[];
  /** The customer's own inbound event ids (their turns' audit records name them). */
  inboundIds: string[];
}

async function eraseOne(db: Kysely<Database>, customerId: string): Promise<OneErased> {
  return db.transaction().execute(async (plain) => {
    const trx = ticketDb(plain);
    const counts = emptyCounts();
    const { rows: conversations } = await sql<{ key: string; shared: boolean }>`
      select c.key, exists (
        select 1 from messages o where o.conversation_key = c.key and o.direction = 'in'
          and o.customer_id is not null and o.customer_id <> ${customerId}) as shared
      from conversations c
      where c.customer_id = ${customerId}
         or c.key in (select m.conversation_key from messages m where m.customer_id = ${customerId})
      order by c.key`.execute(plain);
    const owned = conversations.filter((c) => !c.shared).map((c) => c.key);
    const shared = conversations.filter((c) => c.shared).map((c) => c.key);
    const inbound = await trx
      .selectFrom('messages')
      .select('id')
      .where('customer_id', '=', customerId)
      .execute();
    const inboundIds = inbound.map((row) => row.id);
    // Files the customer sent: an operator's download of one is on record under `file:<channel>:<id>`.
    const { rows: files } = await sql<{ subject: string }>`
      select distinct 'file:' || c.channel || ':' || (a->>'fileId') as subject
      from messages m join conversations c on c.key = m.conversation_key
        cross join lateral jsonb_array_elements(
          case when jsonb_typeof(m.payload->'attachments') = 'array' then m.payload->'attachments' else '[]'::jsonb end) a
      where a->>'fileId' is not null and m.direction = 'in'
        and (m.customer_id = ${customerId} or m.conversation_key in (${sql.join(owned.length > 0 ? owned : [''])}))`.execute(
      plain,
    );

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
      fileSubjects: files.map((f) => f.subject),
      inboundIds,
    };
  });
}
