import { createHash, createHmac } from 'node:crypto';
import { type ColumnType, type Generated, type Kysely, sql } from 'kysely';
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
 * A conversation starts with a customer message when the conversation key has none yet, when the
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

  async record(fact: TurnFact, respondedAt: Date): Promise<RecordedTurn | undefined> {
    const conversationHash = this.pseudonym(fact.conversationKey);
    return this.db.transaction().execute(async (trx) => {
      const latest = await trx
        .selectFrom('conversation_outcomes')
        .select(['id', 'last_customer_at', 'handed_off_at'])
        .where('conversation_hash', '=', conversationHash)
        .orderBy('started_at', 'desc')
        .limit(1)
        .executeTakeFirst();
      const startsNew = fact.customer && fact.csat === undefined && this.startsConversation(fact, latest);
      if (!startsNew && !latest) return undefined; // a helpdesk update of a conversation never seen: nothing to add to
      const conversationId = startsNew ? conversationIdOf(conversationHash, fact) : (latest?.id as string);
      const responseMs =
        fact.customer && fact.replies > 0 ? Math.max(0, respondedAt.getTime() - fact.at.getTime()) : null;
      const inserted = await trx
        .insertInto('turn_facts')
        .values({
          event_id: fact.eventId,
          conversation_id: conversationId,
          tenant: fact.tenant,
          channel: fact.channel,
          customer: fact.customer,
          language: fact.language ?? null,
          intent: fact.intent ?? null,
          confidence_bucket: fact.confidenceBucket ?? null,
          decision: fact.decision ?? null,
          answer_ran: fact.answerRan,
          unanswered: fact.unanswered,
          llm_fallback: fact.llmFallback ?? null,
          feedback: fact.feedback ?? null,
          csat_score: fact.csat?.score ?? null,
          survey_asked: fact.surveyAsked,
          handoff: fact.handoff,
          awaiting: fact.awaiting ?? null,
          replies: fact.replies,
          response_ms: responseMs,
          latency_ms: fact.latencyMs === undefined ? null : Math.max(0, Math.round(fact.latencyMs)),
          day: utcDay(fact.at),
          at: fact.at,
        })
        .onConflict((oc) => oc.column('event_id').doNothing())
        .returning('event_id')
        .executeTakeFirst();
      // Written already (a redelivery): the fact's insert was the only statement, nothing changes.
      if (!inserted) return undefined;
      if (startsNew) {
        await trx
          .insertInto('conversation_outcomes')
          .values({
            id: conversationId,
            conversation_hash: conversationHash,
            tenant: fact.tenant,
            channel: fact.channel,
            language: fact.language ?? null,
            intent: knownIntent(fact),
            day: utcDay(fact.at),
            started_at: fact.at,
            last_customer_at: fact.at,
          })
          .execute();
      }
      await trx
        .updateTable('conversation_outcomes')
        .set({
          ...(fact.customer
            ? {
                turns: sql`turns + 1`,
                last_customer_at: fact.at,
                // The bot's last word: a question it waits on, or an "I don't know" (see abandoned).
                left_waiting: fact.awaiting === 'question' || fact.unanswered,
                language: sql`coalesce(language, ${fact.language ?? null})`,
                intent: sql`coalesce(intent, ${knownIntent(fact)})`,
                first_response_ms: sql`coalesce(first_response_ms, ${responseMs})`,
              }
            : {}),
          unanswered_turns: sql`unanswered_turns + ${fact.unanswered ? 1 : 0}`,
          helpful_yes: sql`helpful_yes + ${fact.feedback === 'helpful' ? 1 : 0}`,
          helpful_no: sql`helpful_no + ${fact.feedback === 'unhelpful' ? 1 : 0}`,
          llm_fallbacks: sql`llm_fallbacks + ${fact.llmFallback ? 1 : 0}`,
          ...(fact.handoff
            ? { handed_off_at: sql`coalesce(handed_off_at, ${fact.at.toISOString()}::timestamptz)` }
            : {}),
          ...(fact.csat ? { csat_score: fact.csat.score, csat_scale: fact.csat.scale } : {}),
        })
        .where('id', '=', conversationId)
        .execute();
      return { conversationId, startedConversation: startsNew };
    });
  }

  private startsConversation(
    fact: TurnFact,
    latest: { last_customer_at: Date; handed_off_at: Date | null } | undefined,
  ): boolean {
    if (!latest) return true;
    if (latest.handed_off_at) return fact.withBotBefore;
    return (
      fact.at.getTime() - new Date(latest.last_customer_at).getTime() > this.abandonAfterMinutes * 60_000
    );
  }
}

function knownIntent(fact: TurnFact): string | null {
  return fact.intent && fact.intent !== 'unknown' ? fact.intent : null;
}

function conversationIdOf(conversationHash: string, fact: TurnFact): string {
  return createHash('sha256').update(`${conversationHash}\n${fact.eventId}`).digest('hex').slice(0, 32);
}
