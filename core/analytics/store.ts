import { createHash, createHmac } from 'node:crypto';
import { type ColumnType, type Generated, type Kysely, type RawBuilder, sql } from 'kysely';
import { loadServerSecret } from '../security/server-secrets';
import type { Database } from '../store/schema';
import type { TurnFact } from './facts';

type Timestamp = ColumnType<Date, Date | string, Date | string>;
type Day = ColumnType<string, string, string>;

interface ConversationOutcomesTable {
  id: string;
  conversation_hash: string;
  tenant: string;
  channel: string;
  language: string | null;
  intent: string | null;
  day: Day;
  started_at: Timestamp;
  last_customer_at: Timestamp;
  turns: Generated<number>;
  first_response_ms: number | null;
  unanswered_turns: Generated<number>;
  left_waiting: Generated<boolean>;
  handed_off_at: Timestamp | null;
  csat_score: number | null;
  csat_scale: string | null;
  helpful_yes: Generated<number>;
  helpful_no: Generated<number>;
  llm_fallbacks: Generated<number>;
}

interface TurnFactsTable {
  event_id: string;
  conversation_id: string;
  tenant: string;
  channel: string;
  customer: boolean;
  language: string | null;
  intent: string | null;
  confidence_bucket: number | null;
  decision: string | null;
  answer_ran: boolean;
  unanswered: boolean;
  llm_fallback: string | null;
  feedback: string | null;
  csat_score: number | null;
  survey_asked: boolean;
  handoff: boolean;
  awaiting: string | null;
  replies: number;
  response_ms: number | null;
  /** The worker's time on the turn, from taking the event to its replies stored (migration 0012). */
  latency_ms: number | null;
  day: Day;
  at: Timestamp;
}

/** Each process's failed turns, dead letters and logged errors, added up per minute (core/analytics/system-minutes.ts). */
interface SystemMinutesTable {
  minute: Timestamp;
  tenant: string;
  channel: string;
  kind: string;
  count: number;
}

export interface AnalyticsDatabase {
  conversation_outcomes: ConversationOutcomesTable;
  turn_facts: TurnFactsTable;
  system_minutes: SystemMinutesTable;
}

/** What happened to the conversation this turn belongs to, for the counters at event time. */
export interface RecordedTurn {
  conversationId: string;
  startedConversation: boolean;
}

export const utcDay = (at: Date) => at.toISOString().slice(0, 10);

/** Where an operator may give the pseudonym key; unset, the hub keeps a generated one in its database. */
export const ANALYTICS_KEY_ENV = 'HUB_ANALYTICS_KEY';

/** The key of the conversations' pseudonyms (core/security/server-secrets.ts). */
export function loadAnalyticsKey(db: Kysely<Database>): Promise<Buffer> {
  return loadServerSecret(db, 'analytics-pseudonyms', {
    variable: ANALYTICS_KEY_ENV,
    value: process.env[ANALYTICS_KEY_ENV],
  });
}

/** A conversation key's pseudonym: HMAC-SHA256 under the server key, 32 hex digits (erasure finds rows by it). */
export function conversationPseudonym(pseudonymKey: Buffer, conversationKey: string): string {
  return createHmac('sha256', pseudonymKey).update(conversationKey).digest('hex').slice(0, 32);
}

/**
 * Writes the turn facts and keeps each conversation's row (tables of migration 0011). One call per
 * turn, keyed by the event id: a redelivered turn writes nothing and returns undefined.
 *
 * The rule, which `factStatement` writes in SQL: a conversation starts with a customer message when the conversation key has none yet, when the
 * last one was idle longer than `abandonAfterMinutes`, or when it was handed off and the customer
 * writes again after the person gave it back to the bot. A rating of the survey never starts one.
 */
export class AnalyticsStore {
  readonly db: Kysely<AnalyticsDatabase>;

  constructor(
    db: Kysely<Database>,
    private readonly abandonAfterMinutes: number,
    /** HMAC key of the conversations' pseudonyms (`loadAnalyticsKey`): a phone-number id cannot be found by hashing guesses. */
    private readonly pseudonymKey: Buffer,
  ) {
    this.db = db as unknown as Kysely<AnalyticsDatabase>;
  }

  /** The conversation key's pseudonym ({@link conversationPseudonym}). */
  pseudonym(conversationKey: string): string {
    return conversationPseudonym(this.pseudonymKey, conversationKey);
  }

  /**
   * Writes the fact and its conversation's row in one statement ({@link factStatement}).
   * Returns undefined when nothing was written: a redelivery, or a helpdesk update of a
   * conversation never seen.
   */
  async record(fact: TurnFact, respondedAt: Date): Promise<RecordedTurn | undefined> {
    const part = this.factStatement(fact, respondedAt);
    const { rows } = await sql<Record<string, unknown>>`with ${sql.join(part.ctes)} select ${sql.join(
      part.columns,
    )}`.execute(this.db);
    return recordedTurnOf(rows[0]);
  }

  /**
   * The fact's part of one SQL statement: common table expressions (named `fact_*`) and the result
   * columns {@link recordedTurnOf} reads. The turn handler puts them into the turn's one statement
   * (core/dialog/turn-write.ts); `record` runs them alone.
   *
   * The new-or-continue decision (the rule in the class comment) is made in SQL from the
   * conversation's latest row, read inside the same statement: no read round trip per turn, and no
   * copy of the row elsewhere (the dialog state expires, and a helpdesk update or survey rating
   * must see the row the customer's turns left). The turns of one conversation run one at a time
   * (the bus's conversation lock), so the row read is the one the previous turn wrote.
   *
   * One snapshot serves every part of a statement, so a conversation that starts here is inserted
   * with this turn's figures already counted, and one that continues is updated; never both.
   */
  factStatement(
    fact: TurnFact,
    respondedAt: Date,
  ): { ctes: RawBuilder<unknown>[]; columns: RawBuilder<unknown>[] } {
    const conversationHash = this.pseudonym(fact.conversationKey);
    const newId = conversationIdOf(conversationHash, fact);
    const at = fact.at.toISOString();
    const responseMs =
      fact.customer && fact.replies > 0 ? Math.max(0, respondedAt.getTime() - fact.at.getTime()) : null;
    // A rating of the survey, or a helpdesk update, never starts a conversation.
    const mayStart = fact.customer && fact.csat === undefined;
    const unanswered = fact.unanswered ? 1 : 0;
    const helpfulYes = fact.feedback === 'helpful' ? 1 : 0;
    const helpfulNo = fact.feedback === 'unhelpful' ? 1 : 0;
    const fallbacks = fact.llmFallback ? 1 : 0;
    // The bot's last word: a question it waits on, or an "I don't know" (see abandoned).
    const leftWaiting = fact.awaiting === 'question' || fact.unanswered;
    const language = fact.language ?? null;
    const intent = knownIntent(fact);
    const updates: RawBuilder<unknown>[] = [
      ...(fact.customer
        ? [
            sql`turns = turns + 1`,
            sql`last_customer_at = ${at}::timestamptz`,
            sql`left_waiting = ${leftWaiting}::boolean`,
            sql`language = coalesce(language, ${language}::text)`,
            sql`intent = coalesce(intent, ${intent}::text)`,
            sql`first_response_ms = coalesce(first_response_ms, ${responseMs}::integer)`,
          ]
        : []),
      sql`unanswered_turns = unanswered_turns + ${unanswered}::integer`,
      sql`helpful_yes = helpful_yes + ${helpfulYes}::integer`,
      sql`helpful_no = helpful_no + ${helpfulNo}::integer`,
      sql`llm_fallbacks = llm_fallbacks + ${fallbacks}::integer`,
      ...(fact.handoff ? [sql`handed_off_at = coalesce(handed_off_at, ${at}::timestamptz)`] : []),
      ...(fact.csat
        ? [sql`csat_score = ${fact.csat.score}::smallint`, sql`csat_scale = ${fact.csat.scale}::text`]
        : []),
    ];
    const ctes = [
      sql`fact_latest as (
        select id, last_customer_at, handed_off_at from conversation_outcomes
        where conversation_hash = ${conversationHash}::text
        order by started_at desc limit 1)`,
      // The rule, in SQL: none yet; or handed off and the turn before was with the bot;
      // or idle longer than abandonAfterMinutes.
      sql`fact_decision as (
        select l.id as latest_id,
          (${mayStart}::boolean and (l.id is null
            or (l.handed_off_at is not null and ${fact.withBotBefore}::boolean)
            or (l.handed_off_at is null and ${at}::timestamptz - l.last_customer_at >
              ${this.abandonAfterMinutes}::double precision * interval '1 minute'))) as starts_new
        from (select 1) as one left join fact_latest l on true)`,
      // A helpdesk update of a conversation never seen: nothing to add to, no fact.
      sql`fact_row as (
        insert into turn_facts (event_id, conversation_id, tenant, channel, customer, language, intent,
          confidence_bucket, decision, answer_ran, unanswered, llm_fallback, feedback, csat_score,
          survey_asked, handoff, awaiting, replies, response_ms, latency_ms, day, at)
        select ${fact.eventId}::text, case when d.starts_new then ${newId}::text else d.latest_id end,
          ${fact.tenant}::text, ${fact.channel}::text, ${fact.customer}::boolean, ${language}::text,
          ${fact.intent ?? null}::text, ${fact.confidenceBucket ?? null}::smallint, ${fact.decision ?? null}::text,
          ${fact.answerRan}::boolean, ${fact.unanswered}::boolean, ${fact.llmFallback ?? null}::text,
          ${fact.feedback ?? null}::text, ${fact.csat?.score ?? null}::smallint, ${fact.surveyAsked}::boolean,
          ${fact.handoff}::boolean, ${fact.awaiting ?? null}::text, ${fact.replies}::smallint,
          ${responseMs}::integer,
          ${fact.latencyMs === undefined ? null : Math.max(0, Math.round(fact.latencyMs))}::integer,
          ${utcDay(fact.at)}::date, ${at}::timestamptz
        from fact_decision d where d.starts_new or d.latest_id is not null
        on conflict (event_id) do nothing
        returning conversation_id)`,
      // Written already (a redelivery): fact_row is empty, and neither of these writes anything.
      sql`fact_started as (
        insert into conversation_outcomes (id, conversation_hash, tenant, channel, language, intent, day,
          started_at, last_customer_at, turns, first_response_ms, unanswered_turns, left_waiting,
          handed_off_at, helpful_yes, helpful_no, llm_fallbacks)
        select ${newId}::text, ${conversationHash}::text, ${fact.tenant}::text, ${fact.channel}::text,
          ${language}::text, ${intent}::text, ${utcDay(fact.at)}::date, ${at}::timestamptz, ${at}::timestamptz,
          1, ${responseMs}::integer, ${unanswered}::integer, ${leftWaiting}::boolean,
          ${fact.handoff ? at : null}::timestamptz, ${helpfulYes}::integer, ${helpfulNo}::integer,
          ${fallbacks}::integer
        from fact_decision d join fact_row on true where d.starts_new
        returning id)`,
      sql`fact_continued as (
        update conversation_outcomes set ${sql.join(updates)}
        from fact_decision d join fact_row on true
        where conversation_outcomes.id = d.latest_id and not d.starts_new
        returning conversation_outcomes.id)`,
    ];
    const columns = [
      sql`(select conversation_id from fact_row) as fact_conversation`,
      sql`exists (select 1 from fact_started) as fact_started`,
    ];
    return { ctes, columns };
  }
}

/** What {@link AnalyticsStore.factStatement}'s columns say: undefined when no fact was written. */
export function recordedTurnOf(row: Record<string, unknown> | undefined): RecordedTurn | undefined {
  const conversationId = row?.fact_conversation;
  if (typeof conversationId !== 'string') return undefined;
  return { conversationId, startedConversation: row?.fact_started === true };
}

function knownIntent(fact: TurnFact): string | null {
  return fact.intent && fact.intent !== 'unknown' ? fact.intent : null;
}

function conversationIdOf(conversationHash: string, fact: TurnFact): string {
  return createHash('sha256').update(`${conversationHash}\n${fact.eventId}`).digest('hex').slice(0, 32);
}
