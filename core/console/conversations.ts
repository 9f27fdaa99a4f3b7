import { type Kysely, type RawBuilder, sql } from 'kysely';
import { type Outcome, outcomeSql } from '../analytics/outcome';
import { LOOKUP_PREFIX } from '../privacy/at-rest';
import { TURN_ACTION } from '../security/audit';
import { atRestOf } from '../store/at-rest';
import { parseCustomerTarget } from '../store/customer-lookup';
import { openMessagePayload, openMessageText, userLookup } from '../store/rows';
import type { Database } from '../store/schema';
import type { Citation } from '../types/outbound';

/**
 * The conversations operators search and read in the console: one per conversation key (the
 * `conversations` table), with what the business metrics (core/analytics) and the turn audit
 * records (core/security/audit.ts) say about it. Read only; every text is returned as stored and
 * the route masks it for the caller (core/security/transcripts.ts).
 *
 * A conversation's id is its stored key: the keyed hash of channel, tenant and platform
 * conversation id, which names nobody. Conversations recorded before encryption at rest keep their
 * key in clear and are left out until `hub keys rotate` has hashed it.
 */

export interface ConversationFilter {
  /** A customer uuid, a platform user id, or `<channel>:<platform user id>`. */
  customer?: string;
  channel?: string;
  /** Had a customer turn with this intent. */
  intent?: string;
  /** What became of its latest conversation of the business metrics. */
  outcome?: Outcome;
  /** Its latest satisfaction rating (1–5, thumbs as 1 and 5) is in this range. */
  rating?: { min: number; max: number };
  /** Active on a day from `from` to `to`, inclusive, `YYYY-MM-DD` (UTC). */
  from?: string;
  to?: string;
  tenant?: string;
  /** Only these tenants (an operator's scope); undefined: every tenant. */
  tenants?: readonly string[];
}

export interface ConversationSummary {
  id: string;
  tenant: string;
  channel: string;
  /** The customer's uuid (a pseudonym); null when the hub has none (erased, or a group). */
  customerId: string | null;
  startedAt: string;
  lastAt: string;
  /** Customer messages and taps. */
  turns: number;
  /** The latest recognized intent of its customer turns (`unknown` only when none was recognized). */
  lastIntent: string | null;
  /** Of its latest conversation of the business metrics; null without business facts. */
  outcome: Outcome | null;
  /** The latest satisfaction rating the customer gave, 1–5. */
  rating: number | null;
}

export interface SearchOptions {
  now: Date;
  abandonAfterMinutes: number;
}

export interface Page {
  page: number;
  pageSize: number;
}

/** Newest activity first, `pageSize` at a time; `hasMore` when a next page has rows. */
export async function searchConversations(
  db: Kysely<Database>,
  filter: ConversationFilter,
  page: Page,
  options: SearchOptions,
): Promise<{ conversations: ConversationSummary[]; hasMore: boolean }> {
  const customerIds = filter.customer === undefined ? undefined : await customersNamed(db, filter);
  if (customerIds?.length === 0) return { conversations: [], hasMore: false };
  const rows = await summaries(db, conditions(filter, customerIds), filter, options, {
    limit: page.pageSize + 1,
    offset: (page.page - 1) * page.pageSize,
  });
  return { conversations: rows.slice(0, page.pageSize), hasMore: rows.length > page.pageSize };
}

/** One conversation's summary by id, in any tenant (the caller checks the scope). */
export async function conversationById(
  db: Kysely<Database>,
  id: string,
  options: SearchOptions,
): Promise<ConversationSummary | undefined> {
  if (!id.startsWith(LOOKUP_PREFIX)) return undefined;
  const [row] = await summaries(db, [sql`c.key = ${id}`], {}, options, { limit: 1, offset: 0 });
  return row;
}

/**
 * The customers a search names, in the tenants it may see: a uuid as it is, a platform user id by
 * its keyed hash on any channel, and `<channel>:<user id>` on that channel (a user id may itself
 * hold a colon, so the whole text is tried as a user id too).
 */
async function customersNamed(db: Kysely<Database>, filter: ConversationFilter): Promise<string[]> {
  const text = (filter.customer ?? '').trim();
  const target = parseCustomerTarget(text);
  const atRest = atRestOf(db);
  const identities: RawBuilder<unknown>[] = [sql`user_id in (${userLookup(atRest, text)}, ${text})`];
  if (target?.kind === 'identity') {
    identities.push(
      sql`(channel = ${target.channel} and user_id in (${userLookup(atRest, target.userId)}, ${target.userId}))`,
    );
  }
  const scope: RawBuilder<unknown>[] = [];
  if (filter.tenant !== undefined) scope.push(sql`tenant = ${filter.tenant}`);
  if (filter.tenants !== undefined) scope.push(inList('tenant', filter.tenants));
  const where = sql.join([sql`(${sql.join(identities, sql` or `)})`, ...scope], sql` and `);
  const { rows } = await sql<{ customer_id: string }>`
    select distinct customer_id from channel_identities where ${where}`.execute(db);
  const ids = rows.map((row) => row.customer_id);
  if (target?.kind === 'customer') ids.push(target.customerId);
  return [...new Set(ids)];
}

function inList(column: string, values: readonly string[]): RawBuilder<unknown> {
  return values.length ? sql`${sql.ref(column)} in (${sql.join(values.map((v) => sql`${v}`))})` : sql`false`;
}

function conditions(filter: ConversationFilter, customerIds: string[] | undefined): RawBuilder<unknown>[] {
  const where: RawBuilder<unknown>[] = [];
  if (filter.tenant !== undefined) where.push(sql`c.tenant = ${filter.tenant}`);
  if (filter.tenants !== undefined) where.push(inList('c.tenant', filter.tenants));
  if (filter.channel !== undefined) where.push(sql`c.channel = ${filter.channel}`);
  if (customerIds !== undefined) where.push(inList('c.customer_id', customerIds));
  if (filter.from !== undefined)
    where.push(sql`c.last_activity_at >= ${`${filter.from}T00:00:00Z`}::timestamptz`);
  if (filter.to !== undefined) {
    where.push(sql`c.created_at < (${filter.to}::date + 1)::timestamptz`);
  }
  if (filter.intent !== undefined) {
    where.push(sql`exists (select 1 from messages m join turn_facts t on t.event_id = m.id
      where m.conversation_key = c.key and m.direction = 'in' and t.intent = ${filter.intent})`);
  }
  return where;
}

interface SummaryRow {
  id: string;
  tenant: string;
  channel: string;
  customer_id: string | null;
  created_at: Date | string;
  last_activity_at: Date | string;
  turns: number | string;
  last_intent: string | null;
  outcome: Outcome | null;
  rating: number | string | null;
}

/**
 * The summaries matching `where` (on the `conversations` row) and the outcome and rating asked
 * for, newest activity first. Business facts reach a conversation key through its inbound messages
 * (a turn fact's event id is the message id), since the metrics name a conversation by a pseudonym
 * of its own key. Without an outcome or rating to match, the page is cut from `conversations`
 * (newest first along `conversations_activity_idx`, migration 0017) before anything is looked up;
 * with one, conversations are looked up newest first until the page is full, so a filter that
 * matches few walks many (narrow it by date, channel or tenant).
 */
async function summaries(
  db: Kysely<Database>,
  where: RawBuilder<unknown>[],
  derived: Pick<ConversationFilter, 'outcome' | 'rating'>,
  options: SearchOptions,
  window: { limit: number; offset: number },
): Promise<ConversationSummary[]> {
  const outcome = outcomeSql('latest', options.now, options.abandonAfterMinutes);
  const order = sql`order by c.last_activity_at desc, c.key desc`;
  const cut = sql`limit ${window.limit} offset ${window.offset}`;
  const matches: RawBuilder<unknown>[] = [];
  if (derived.rating) matches.push(sql`rating.score between ${derived.rating.min} and ${derived.rating.max}`);
  if (derived.outcome) matches.push(sql`${outcome} = ${derived.outcome}`);
  const early = matches.length === 0;
  const { rows } = await sql<SummaryRow>`
    with candidates as (
      select c.key, c.tenant, c.channel, c.customer_id, c.created_at, c.last_activity_at
      from conversations c
      where ${sql.join([sql`c.key like ${`${LOOKUP_PREFIX}%`}`, ...where], sql` and `)}
      ${early ? sql`${order} ${cut}` : sql``}
    )
    select c.key as id, c.tenant, c.channel, c.customer_id, c.created_at, c.last_activity_at,
      turns.n as turns, last_intent.intent as last_intent, rating.score as rating,
      ${outcome} as outcome
    from candidates c
    cross join lateral (
      select count(*) as n from messages m
      where m.conversation_key = c.key and m.direction = 'in' and m.kind in ('message', 'action')
    ) turns
    left join lateral (
      select t.intent from messages m join turn_facts t on t.event_id = m.id
      where m.conversation_key = c.key and m.direction = 'in' and t.customer and t.intent is not null
      order by t.intent = 'unknown', t.at desc limit 1
    ) last_intent on true
    left join lateral (
      select t.csat_score as score from messages m join turn_facts t on t.event_id = m.id
      where m.conversation_key = c.key and m.direction = 'in' and t.csat_score is not null
      order by t.at desc limit 1
    ) rating on true
    left join lateral (
      select o.* from messages m
      join turn_facts t on t.event_id = m.id
      join conversation_outcomes o on o.id = t.conversation_id
      where m.conversation_key = c.key and m.direction = 'in'
      order by o.started_at desc limit 1
    ) latest on true
    ${early ? sql`` : sql`where ${sql.join(matches, sql` and `)}`}
    ${order}
    ${early ? sql`` : cut}`.execute(db);
  return rows.map((row) => ({
    id: row.id,
    tenant: row.tenant,
    channel: row.channel,
    customerId: row.customer_id,
    startedAt: new Date(row.created_at).toISOString(),
    lastAt: new Date(row.last_activity_at).toISOString(),
    turns: Number(row.turns),
    lastIntent: row.last_intent,
    outcome: row.outcome,
    rating: row.rating === null ? null : Number(row.rating),
  }));
}

/** Lines a transcript shows at most: the newest, so a conversation of years still opens at once. */
export const TRANSCRIPT_LINES = 500;

/** What the bot did with one customer turn, from its audit record and business facts. */
export interface TurnTraceView {
  intent?: { name: string; confidence: number; tier: string };
  /** answer, flow, handoff:<reason>, wait or silent. */
  decision?: string;
  /** Knowledge passages the answer was given, best first; title and text where the knowledge base still has them. */
  retrieved: Array<{ id: string; score: number; title?: string; section?: string; text?: string }>;
  /** `model@version`; absent when no model wrote the answer. */
  model?: string;
  citations: Array<{ id: string; title?: string; url?: string }>;
  /** Who wrote the replies: llm, extractive, flow, system. */
  source?: string;
  actions: string[];
  latencyMs?: number;
  /** answered, silent, or recovered (stored by an attempt that died). */
  outcome?: string;
  language?: string;
  feedback?: string;
  rating?: number;
}

/**
 * One line of a transcript. Message ids are left out: a channel's event id can carry the platform
 * user id (the REST channel's holds the sender), which an analyst may not read.
 */
export interface TranscriptLine {
  who: 'customer' | 'bot' | 'agent';
  /** An inbound event's kind (message, action, …) or a reply's content type (text, choices, …). */
  kind: string;
  at: string;
  text: string;
  /** A customer turn's trace, where the hub kept one (audit records of turns on, not yet purged). */
  trace?: TurnTraceView;
}

/** Knowledge passages by chunk id, for titles and text of the retrieved ids (core/console/passages.ts). */
export type PassageLookup = (
  ids: readonly string[],
) => Promise<ReadonlyMap<string, { title: string; section?: string; text: string }>>;

/** The conversation's transcript, oldest first (the newest {@link TRANSCRIPT_LINES}), each customer turn with its trace. */
export async function conversationTranscript(
  db: Kysely<Database>,
  id: string,
  passages?: PassageLookup,
): Promise<{ lines: TranscriptLine[]; truncated: boolean }> {
  const atRest = atRestOf(db);
  const rows = await db
    .selectFrom('messages')
    .select(['id', 'direction', 'kind', 'text', 'source', 'created_at', 'payload'])
    .where('conversation_key', '=', id)
    // A helpdesk update is bookkeeping: the agent's words are the outbound message it produced.
    .where('kind', '!=', 'handoff')
    .orderBy('created_at', 'desc')
    .orderBy('seq', 'desc')
    .limit(TRANSCRIPT_LINES + 1)
    .execute();
  const truncated = rows.length > TRANSCRIPT_LINES;
  const shown = rows.slice(0, TRANSCRIPT_LINES).reverse();
  const inbound = shown.filter((row) => row.direction === 'in').map((row) => row.id);
  const traces = await turnTraces(db, id, inbound);

  // Titles of cited passages come with the replies that cite them.
  const cited = new Map<string, Citation>();
  for (const row of shown) {
    if (row.direction !== 'out') continue;
    const payload = openMessagePayload(atRest, row) as { citations?: Citation[] };
    for (const citation of payload.citations ?? []) cited.set(citation.id, citation);
  }
  const wanted = new Set([...traces.values()].flatMap((trace) => trace.retrieved.map((p) => p.id)));
  const known = passages && wanted.size ? await passages([...wanted]) : new Map();
  for (const trace of traces.values()) {
    trace.retrieved = trace.retrieved.map((passage) => {
      const found = known.get(passage.id);
      const title = found?.title ?? cited.get(passage.id)?.title;
      return {
        ...passage,
        ...(title ? { title } : {}),
        ...(found?.section ? { section: found.section } : {}),
        ...(found ? { text: found.text } : {}),
      };
    });
    trace.citations = trace.citations.map((citation) => {
      const from = cited.get(citation.id);
      return {
        id: citation.id,
        ...(from?.title || known.get(citation.id)?.title
          ? { title: from?.title ?? known.get(citation.id)?.title }
          : {}),
        ...(from?.url ? { url: from.url } : {}),
      };
    });
  }

  const lines = shown.map((row): TranscriptLine => {
    const trace = row.direction === 'in' ? traces.get(row.id) : undefined;
    return {
      who: row.direction === 'in' ? 'customer' : row.source === 'agent' ? 'agent' : 'bot',
      kind: row.kind,
      at: new Date(row.created_at).toISOString(),
      text: openMessageText(atRest, row),
      ...(trace ? { trace } : {}),
    };
  });
  return { lines, truncated };
}

interface TurnDetails {
  eventId?: unknown;
  intent?: { name?: unknown; confidence?: unknown; tier?: unknown };
  decision?: unknown;
  retrieved?: unknown;
  model?: unknown;
  actions?: unknown;
  citations?: unknown;
  source?: unknown;
  latencyMs?: unknown;
  outcome?: unknown;
}

/**
 * The traces of the given customer turns, by event id: the turn audit records (subject: the
 * conversation's stored key; an erased record is redacted and has no event id) and the turn facts.
 */
async function turnTraces(
  db: Kysely<Database>,
  id: string,
  eventIds: string[],
): Promise<Map<string, TurnTraceView>> {
  const traces = new Map<string, TurnTraceView>();
  if (eventIds.length === 0) return traces;
  const wanted = new Set(eventIds);
  const records = await db
    .selectFrom('audit_log')
    .select('details')
    .where('subject', '=', id)
    .where('action', '=', TURN_ACTION)
    .where(
      'dedupe_key',
      'in',
      eventIds.map((eventId) => `turn:${eventId}`),
    )
    .execute();
  for (const { details } of records) {
    const turn = details as TurnDetails;
    if (typeof turn.eventId !== 'string' || !wanted.has(turn.eventId)) continue;
    traces.set(turn.eventId, traceOf(turn));
  }
  const { rows: facts } = await sql<{
    event_id: string;
    language: string | null;
    feedback: string | null;
    csat_score: number | null;
  }>`select event_id, language, feedback, csat_score from turn_facts
    where event_id in (${sql.join(eventIds.map((eventId) => sql`${eventId}`))})`.execute(db);
  for (const fact of facts) {
    const trace = traces.get(fact.event_id) ?? { retrieved: [], citations: [], actions: [] };
    if (fact.language) trace.language = fact.language;
    if (fact.feedback) trace.feedback = fact.feedback;
    if (fact.csat_score !== null) trace.rating = Number(fact.csat_score);
    traces.set(fact.event_id, trace);
  }
  return traces;
}

const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
const strings = (value: unknown) => (Array.isArray(value) ? value.filter((v) => typeof v === 'string') : []);

function traceOf(turn: TurnDetails): TurnTraceView {
  const intent = turn.intent;
  const retrieved = Array.isArray(turn.retrieved)
    ? turn.retrieved.flatMap((p: { id?: unknown; score?: unknown }) =>
        typeof p?.id === 'string' && typeof p.score === 'number' ? [{ id: p.id, score: p.score }] : [],
      )
    : [];
  return {
    ...(intent && typeof intent.name === 'string'
      ? {
          intent: {
            name: intent.name,
            confidence: Number(intent.confidence ?? 0),
            tier: text(intent.tier) ?? 'unknown',
          },
        }
      : {}),
    ...(text(turn.decision) ? { decision: text(turn.decision) } : {}),
    retrieved,
    ...(text(turn.model) ? { model: text(turn.model) } : {}),
    citations: strings(turn.citations).map((citation) => ({ id: citation })),
    ...(text(turn.source) ? { source: text(turn.source) } : {}),
    actions: strings(turn.actions),
    ...(typeof turn.latencyMs === 'number' ? { latencyMs: turn.latencyMs } : {}),
    ...(text(turn.outcome) ? { outcome: text(turn.outcome) } : {}),
  };
}
