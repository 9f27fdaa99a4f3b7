import { type Kysely, type RawBuilder, sql } from 'kysely';
import { type RetentionConfig, type RetentionWindow, retentionFor } from '../config/retention-schema';
import type { AtRest } from '../privacy/at-rest';
import type { TicketDraft } from '../types';
import { atRestOf } from './at-rest';
import { openMessagePayload, openMessageText } from './rows';
import type { Database } from './schema';

/**
 * The retention purge: what is older than its tenant's window (`retention:` of hub.yaml) leaves
 * the database, batch by batch so that no statement holds its locks for long.
 *
 * Per tenant, in this order:
 * - raw payloads older than `payloadsDays` become a stub (ids, conversation, times; an outbound
 *   message keeps its text as plain content), the text stays. Payloads are sealed at rest, so each
 *   batch is opened here, cut, sealed again and marked `payload_purged`;
 * - messages older than `transcriptsDays` are deleted;
 * - customer comments on tickets older than the window are deleted once delivered (or dead);
 * - ticket drafts older than the window lose their transcript, summary, slots, entities and
 *   contact details once delivered (or dead), opened and sealed again like payloads and marked
 *   `draft_redacted`; the row stays, it links the helpdesk's ticket back;
 * - conversations idle past the window with no message left and no ticket delivery pending go, and
 *   then the ticket requests of conversations that are gone and have nothing pending;
 * - channel identities not seen within the window and without a conversation of that tenant go;
 * - business metrics (core/analytics: turn facts, then conversation rows with no fact left) older
 *   than the same window go: they hold no text, but a pseudonym per conversation;
 * then customers left with no identity, conversation or message, and (with the section's own
 * window) signed webhooks that were kept unread (rejected_webhooks).
 *
 * The audit log keeps its own retention (`audit.retentionDays`, `hub audit purge`). A ticket whose
 * delivery is pending is never touched: the next run finds it delivered.
 */

export interface PurgeCounts {
  /** Messages whose raw payload was cut to a stub. */
  payloads: number;
  messages: number;
  conversations: number;
  ticketComments: number;
  ticketDrafts: number;
  ticketRequests: number;
  identities: number;
  customers: number;
  rejectedWebhooks: number;
  /** Business metrics: turn facts and conversation rows (core/analytics), past the transcript window. */
  turnFacts: number;
  conversationOutcomes: number;
}

export interface PurgeReport {
  dryRun: boolean;
  /** When the windows were measured from (ISO-8601). */
  at: string;
  total: PurgeCounts;
  /** Per tenant that had something to purge; customers and rejected webhooks are counted in `total` only. */
  tenants: Record<string, PurgeCounts>;
}

export interface PurgeOptions {
  /** Count what would go, change nothing. */
  dryRun?: boolean;
  /** Measure the windows from this time (tests); default now. */
  now?: Date;
  batchSize?: number;
  /** Called between batches: the scheduler renews its lease here, and may throw to stop the run. */
  betweenBatches?: () => Promise<void>;
}

const DAY_MS = 86_400_000;
/** A customer row younger than this is never swept: its identity may still be on its way in. */
const CUSTOMER_GRACE_MS = DAY_MS;

export function emptyCounts(): PurgeCounts {
  return {
    payloads: 0,
    messages: 0,
    conversations: 0,
    ticketComments: 0,
    ticketDrafts: 0,
    ticketRequests: 0,
    identities: 0,
    customers: 0,
    rejectedWebhooks: 0,
    turnFacts: 0,
    conversationOutcomes: 0,
  };
}

function addCounts(into: PurgeCounts, from: PurgeCounts): void {
  for (const key of Object.keys(into) as Array<keyof PurgeCounts>) into[key] += from[key];
}

function anyCounted(counts: PurgeCounts): boolean {
  return Object.values(counts).some((n) => n > 0);
}

/** Runs the purge over every tenant found in the database; see the module comment for what goes. */
export async function purgeExpired(
  db: Kysely<Database>,
  config: RetentionConfig,
  options: PurgeOptions = {},
): Promise<PurgeReport> {
  const now = options.now ?? new Date();
  const runner = new Batches(db, atRestOf(db), options);
  const report: PurgeReport = {
    dryRun: runner.dryRun,
    at: now.toISOString(),
    total: emptyCounts(),
    tenants: {},
  };
  for (const tenant of await tenantsIn(db)) {
    const counts = await purgeTenant(runner, tenant, retentionFor(config, tenant), now);
    if (anyCounted(counts)) report.tenants[tenant] = counts;
    addCounts(report.total, counts);
  }
  report.total.customers = await runner.run(...sweepCustomers(new Date(now.getTime() - CUSTOMER_GRACE_MS)));
  const section: RetentionWindow = retentionFor(config, '');
  const webhookDays = section.payloadsDays ?? section.transcriptsDays;
  if (webhookDays !== undefined) {
    const cutoff = before(now, webhookDays);
    report.total.rejectedWebhooks = await runner.run(
      (limit) => sql`delete from rejected_webhooks where id in (
        select id from rejected_webhooks where received_at < ${cutoff} limit ${limit}) returning 1`,
      sql`select count(*)::int as n from rejected_webhooks where received_at < ${cutoff}`,
    );
  }
  return report;
}

async function tenantsIn(db: Kysely<Database>): Promise<string[]> {
  const { rows } = await sql<{ tenant: string }>`
    select tenant from conversations union select tenant from channel_identities order by 1`.execute(db);
  return rows.map((row) => row.tenant);
}

function before(now: Date, days: number): string {
  return new Date(now.getTime() - days * DAY_MS).toISOString();
}

/** A ticket request whose ticket or a comment of it still waits for the helpdesk. */
const PENDING_TICKET = (requestId: RawBuilder<unknown>) => sql`(
  exists (select 1 from ticket_outbox o where o.request_id = ${requestId}
            and o.delivered_at is null and o.dead_at is null)
  or exists (select 1 from ticket_comments tc where tc.request_id = ${requestId}
            and tc.delivered_at is null and tc.dead_at is null))`;

async function purgeTenant(
  runner: Batches,
  tenant: string,
  window: RetentionWindow,
  now: Date,
): Promise<PurgeCounts> {
  const counts = emptyCounts();
  const { dryRun } = runner;
  if (window.transcriptsDays !== undefined) {
    const cutoff = before(now, window.transcriptsDays);
    const oldMessages = sql`from messages m join conversations c on c.key = m.conversation_key
      where c.tenant = ${tenant} and m.created_at < ${cutoff}`;
    counts.messages = await runner.run(
      (limit) =>
        sql`delete from messages where id in (select m.id ${oldMessages} limit ${limit}) returning 1`,
      sql`select count(*)::int as n ${oldMessages}`,
    );

    const settled = sql`(tc.delivered_at is not null or tc.dead_at is not null)`;
    const oldComments = sql`from ticket_comments tc join ticket_requests r on r.id = tc.request_id
      where r.tenant = ${tenant} and tc.created_at < ${cutoff} and ${settled}`;
    counts.ticketComments = await runner.run(
      (limit) =>
        sql`delete from ticket_comments where id in (select tc.id ${oldComments} limit ${limit}) returning 1`,
      sql`select count(*)::int as n ${oldComments}`,
    );

    const oldDrafts = sql`from ticket_requests r where r.tenant = ${tenant} and r.created_at < ${cutoff}
      and not r.draft_redacted and not ${PENDING_TICKET(sql.ref('r.id'))}`;
    counts.ticketDrafts = await runner.rewrite(
      (limit) => sql<SealedRow>`select r.id, r.draft as value ${oldDrafts} limit ${limit}`,
      (atRest, row) => redactedDraft(atRest, row),
      (values) => sql`update ticket_requests t set draft = v.value::jsonb, draft_redacted = true
        from (values ${values}) as v(id, value) where t.id = v.id returning 1`,
      sql`select count(*)::int as n ${oldDrafts}`,
    );

    // A dry run deletes no message, so it asks whether every message left is older than the window.
    const noMessageLeft = dryRun
      ? sql`not exists (select 1 from messages m where m.conversation_key = c.key and m.created_at >= ${cutoff})`
      : sql`not exists (select 1 from messages m where m.conversation_key = c.key)`;
    const conversationGoes = sql`c.last_activity_at < ${cutoff} and ${noMessageLeft}
      and not exists (select 1 from ticket_requests r where r.conversation_key = c.key
                        and ${PENDING_TICKET(sql.ref('r.id'))})`;
    const idleConversations = sql`from conversations c where c.tenant = ${tenant} and ${conversationGoes}`;
    counts.conversations = await runner.run(
      (limit) =>
        sql`delete from conversations where key in (select c.key ${idleConversations} limit ${limit}) returning 1`,
      sql`select count(*)::int as n ${idleConversations}`,
    );

    const orphanRequests = sql`from ticket_requests r where r.tenant = ${tenant} and r.created_at < ${cutoff}
      and not exists (select 1 from conversations c where c.key = r.conversation_key)
      and not ${PENDING_TICKET(sql.ref('r.id'))}`;
    // A dry run leaves the conversations in place, so it cannot tell which requests would follow them: 0.
    counts.ticketRequests = dryRun
      ? 0
      : await runner.run(
          (limit) =>
            sql`delete from ticket_requests where id in (select r.id ${orphanRequests} limit ${limit}) returning 1`,
          sql`select 0 as n`,
        );

    const staleIdentities = sql`from channel_identities i where i.tenant = ${tenant}
      and i.last_seen_at < ${cutoff}
      and not exists (select 1 from conversations c where c.tenant = ${tenant} and c.customer_id = i.customer_id
        ${dryRun ? sql`and not (${conversationGoes})` : sql``})`;
    counts.identities = await runner.run(
      (limit) => sql`delete from channel_identities where (channel, tenant, user_id) in (
        select i.channel, i.tenant, i.user_id ${staleIdentities} limit ${limit}) returning 1`,
      sql`select count(*)::int as n ${staleIdentities}`,
    );

    const oldFacts = sql`from turn_facts f where f.tenant = ${tenant} and f.at < ${cutoff}`;
    counts.turnFacts = await runner.run(
      (limit) =>
        sql`delete from turn_facts where event_id in (select f.event_id ${oldFacts} limit ${limit}) returning 1`,
      sql`select count(*)::int as n ${oldFacts}`,
    );
    // A conversation's row goes once its last customer message and every fact of it are past the window.
    const oldOutcomes = sql`from conversation_outcomes o where o.tenant = ${tenant}
      and o.last_customer_at < ${cutoff}
      and not exists (select 1 from turn_facts f where f.conversation_id = o.id and f.at >= ${cutoff})`;
    counts.conversationOutcomes = await runner.run(
      (limit) =>
        sql`delete from conversation_outcomes where id in (select o.id ${oldOutcomes} limit ${limit}) returning 1`,
      sql`select count(*)::int as n ${oldOutcomes}`,
    );
  }
  if (window.payloadsDays !== undefined) {
    const cutoff = before(now, window.payloadsDays);
    const fullPayloads = sql`from messages m join conversations c on c.key = m.conversation_key
      where c.tenant = ${tenant} and m.created_at < ${cutoff} and not m.payload_purged`;
    counts.payloads = await runner.rewrite(
      (limit) =>
        sql<SealedRow>`select m.id, m.payload as value, m.direction, m.text ${fullPayloads} limit ${limit}`,
      (atRest, row) => payloadStub(atRest, row),
      (values) => sql`update messages t set payload = v.value::jsonb, payload_purged = true
        from (values ${values}) as v(id, value) where t.id = v.id returning 1`,
      sql`select count(*)::int as n ${fullPayloads}`,
    );
  }
  return counts;
}

/** A row whose sealed jsonb value the purge rewrites: its id, the value, and what the stub needs. */
interface SealedRow {
  id: string;
  value: unknown;
  direction?: 'in' | 'out';
  text?: string;
}

/**
 * What is left of a raw payload: ids, the conversation, times and (outbound) the text as plain
 * content, enough for a transcript to render; the platform's own fields are gone. Sealed again,
 * bound to the same row and column.
 */
function payloadStub(atRest: AtRest, row: SealedRow): string {
  const payload = openMessagePayload(atRest, {
    id: row.id,
    payload: row.value as never,
  }) as unknown as Record<string, unknown>;
  const stub: Record<string, unknown> = {};
  for (const field of STUB_FIELDS) {
    const value = payload[field];
    if (value !== undefined && value !== null) stub[field] = value;
  }
  if (row.direction === 'out' && row.text !== undefined) {
    stub.content = { type: 'text', text: openMessageText(atRest, { id: row.id, text: row.text }) };
  }
  stub.payloadPurged = true;
  return atRest.sealJson(JSON.stringify(stub), { table: 'messages', column: 'payload', row: row.id });
}

const STUB_FIELDS = [
  'id',
  'ref',
  'kind',
  'receivedAt',
  'createdAt',
  'inReplyTo',
  'locale',
  'source',
] as const;

/** A delivered ticket's draft without what the customer said or who they are; the routing fields stay. */
function redactedDraft(atRest: AtRest, row: SealedRow): string {
  const where = { table: 'ticket_requests', column: 'draft', row: row.id };
  const draft = atRest.openJson<TicketDraft & Record<string, unknown>>(row.value, where);
  const customer = (draft.customer ?? {}) as Partial<TicketDraft['customer']>;
  const redacted = {
    ...draft,
    summary: '',
    transcript: [],
    slots: {},
    entities: {},
    customer: { channel: customer.channel, tenant: customer.tenant, userId: '' },
    redacted: true,
  };
  return atRest.sealJson(JSON.stringify(redacted), where);
}

function sweepCustomers(createdBefore: Date) {
  const orphans = sql`from customers cu where cu.created_at < ${createdBefore.toISOString()}
    and not exists (select 1 from channel_identities i where i.customer_id = cu.id)
    and not exists (select 1 from conversations c where c.customer_id = cu.id)
    and not exists (select 1 from messages m where m.customer_id = cu.id)`;
  return [
    (limit: number) =>
      sql`delete from customers where id in (select cu.id ${orphans} limit ${limit}) returning 1`,
    sql`select count(*)::int as n ${orphans}`,
  ] as const;
}

/** Runs one statement batch by batch until a batch comes back short; in a dry run, its count instead. */
class Batches {
  readonly dryRun: boolean;
  private readonly batchSize: number;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly atRest: AtRest,
    private readonly options: PurgeOptions,
  ) {
    this.dryRun = options.dryRun ?? false;
    this.batchSize = Math.max(1, Math.floor(options.batchSize ?? 500));
  }

  async run(batch: (limit: number) => RawBuilder<unknown>, count: RawBuilder<unknown>): Promise<number> {
    if (this.dryRun) {
      const { rows } = await (count as RawBuilder<{ n: number }>).execute(this.db);
      return Number(rows[0]?.n ?? 0);
    }
    let total = 0;
    for (;;) {
      const { rows } = await batch(this.batchSize).execute(this.db);
      total += rows.length;
      if (rows.length < this.batchSize) return total;
      await this.options.betweenBatches?.();
    }
  }

  /**
   * For sealed values SQL cannot edit: selects a batch, rewrites each value here (opened, changed,
   * sealed again) and writes the batch back in one statement, until a batch comes back short.
   * `select` must leave out the rows already rewritten, or this would not end.
   */
  async rewrite(
    select: (limit: number) => RawBuilder<SealedRow>,
    change: (atRest: AtRest, row: SealedRow) => string,
    write: (values: RawBuilder<unknown>) => RawBuilder<unknown>,
    count: RawBuilder<unknown>,
  ): Promise<number> {
    if (this.dryRun) {
      const { rows } = await (count as RawBuilder<{ n: number }>).execute(this.db);
      return Number(rows[0]?.n ?? 0);
    }
    let total = 0;
    for (;;) {
      const { rows } = await select(this.batchSize).execute(this.db);
      if (rows.length > 0) {
        const values = sql.join(rows.map((row) => sql`(${row.id}, ${change(this.atRest, row)})`));
        await write(values).execute(this.db);
      }
      total += rows.length;
      if (rows.length < this.batchSize) return total;
      await this.options.betweenBatches?.();
    }
  }
}
