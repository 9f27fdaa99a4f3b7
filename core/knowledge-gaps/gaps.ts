import type { Kysely } from 'kysely';
import type { AnalyticsStore } from '../analytics';
import type { PiiMasker } from '../privacy/mask';
import type { Embedder } from '../rag/embedder';
import { atRestOf } from '../store/at-rest';
import { openMessageText } from '../store/rows';
import type { Database } from '../store/schema';
import { clusterByCentroid } from './cluster';

/** Why a question is a gap: the bot said it did not know, or the customer said the answer did not help. */
export type GapReason = 'unanswered' | 'unhelpful';

export interface GapQuery {
  from: string;
  to: string;
  /** Only these tenants (an operator's scope); undefined: every tenant. */
  tenants?: readonly string[];
  /** Cosine similarity a question needs to the cluster's centroid to join it; default {@link defaultSimilarity}. */
  similarity?: number;
  /** At most this many clusters, largest first (default 50). */
  limit?: number;
}

export interface GapQuestion {
  /** A keyed pseudonym of the turn: what a draft records as covered, never the event id. */
  id: string;
  /** The customer's words, personal data masked (core/privacy placeholders). */
  text: string;
  reason: GapReason;
  at: string;
}

export interface KnowledgeGap {
  /** The representative question's pseudonym: stable while the cluster keeps that question. */
  id: string;
  tenant: string;
  language: string | null;
  /** The question closest to the cluster's centroid. */
  question: string;
  count: number;
  unanswered: number;
  unhelpful: number;
  firstAt: string;
  lastAt: string;
  /** Distinct wordings, most recent first, at most {@link EXAMPLES}. */
  examples: string[];
  /** Every question of the cluster's pseudonym, for a draft to record what it covers. */
  questionIds: string[];
  /** Questions per day over the whole range asked for (zeros included), oldest first. */
  trend: Array<{ day: string; count: number }>;
  /** What an agent answered in one of the cluster's conversations after a question, masked; the draft's first answer. */
  suggestedAnswer?: { text: string; at: string };
}

export interface GapReport {
  from: string;
  to: string;
  similarity: number;
  embedder: string;
  /** Questions looked at (after the cap), and whether older ones were left out. */
  questions: number;
  truncated: boolean;
  gaps: KnowledgeGap[];
}

/** Wordings shown per cluster. */
export const EXAMPLES = 5;
/** Questions clustered per report: the most recent ones; the rest are counted as left out. */
export const MAX_QUESTIONS = 2_000;

/**
 * The similarity to join a cluster: the hashed n-gram embedder (the offline default) only sees
 * shared words and character n-grams, so paraphrases score 0.3–0.8 with it and unrelated questions
 * near 0; a real embedding model puts unrelated questions of one shop at 0.4–0.6 and paraphrases above 0.75.
 */
export function defaultSimilarity(embedder: Pick<Embedder, 'name'>): number {
  return embedder.name === 'hash-ngram' ? 0.4 : 0.75;
}

interface Candidate {
  eventId: string;
  tenant: string;
  language: string | null;
  reason: GapReason;
  at: Date;
}

interface Question extends Candidate {
  text: string;
  conversationKey: string;
  vector: number[];
}

/**
 * Clusters of the questions the bot could not answer (turn facts with `unanswered`) or whose answer
 * the customer said did not help (the answered turn before a "did that help? → no"), per tenant and
 * language, from the business facts (core/analytics, ids only) and the messages they name (texts
 * opened through the store's sealer, masked before they are embedded or shown).
 */
export class KnowledgeGaps {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly analytics: AnalyticsStore,
    private readonly embedder: Embedder,
    private readonly masker: PiiMasker,
  ) {}

  /** A turn's pseudonym: the same keyed hash as the analytics conversations, in a domain of its own. */
  questionId(eventId: string): string {
    return this.analytics.pseudonym(`gap-question\u0000${eventId}`);
  }

  async report(query: GapQuery): Promise<GapReport> {
    const similarity = query.similarity ?? defaultSimilarity(this.embedder);
    const limit = query.limit ?? 50;
    const { candidates, truncated } = await this.candidates(query);
    const questions = await this.withTexts(candidates);
    const vectors = questions.length
      ? await this.embedder.embed(
          questions.map((q) => q.text),
          'query',
        )
      : [];
    questions.forEach((question, i) => {
      question.vector = vectors[i] ?? [];
    });
    // Tenants and languages never share a cluster: an entry is written for one tenant in one language.
    const groups = new Map<string, Question[]>();
    for (const question of questions) {
      const key = `${question.tenant}\u0000${question.language ?? ''}`;
      const group = groups.get(key) ?? [];
      group.push(question);
      groups.set(key, group);
    }
    const days = daysBetween(query.from, query.to);
    const gaps: Array<KnowledgeGap & { conversationKeys: string[]; times: Date[] }> = [];
    for (const key of [...groups.keys()].sort()) {
      for (const cluster of clusterByCentroid(groups.get(key) ?? [], similarity)) {
        const items = cluster.items;
        const newestFirst = [...items].sort((a, b) => b.at.getTime() - a.at.getTime());
        const perDay = new Map(days.map((day) => [day, 0]));
        for (const item of items) {
          const day = item.at.toISOString().slice(0, 10);
          perDay.set(day, (perDay.get(day) ?? 0) + 1);
        }
        const rep = cluster.representative;
        gaps.push({
          id: this.questionId(rep.eventId),
          tenant: rep.tenant,
          language: rep.language,
          question: rep.text,
          count: items.length,
          unanswered: items.filter((i) => i.reason === 'unanswered').length,
          unhelpful: items.filter((i) => i.reason === 'unhelpful').length,
          firstAt: (newestFirst.at(-1) as Question).at.toISOString(),
          lastAt: (newestFirst[0] as Question).at.toISOString(),
          examples: distinct(newestFirst.map((i) => i.text)).slice(0, EXAMPLES),
          questionIds: items.map((i) => this.questionId(i.eventId)),
          trend: [...perDay].map(([day, count]) => ({ day, count })),
          conversationKeys: [rep, ...items.filter((i) => i !== rep)].map((i) => i.conversationKey),
          times: [rep, ...items.filter((i) => i !== rep)].map((i) => i.at),
        });
      }
    }
    gaps.sort((a, b) => b.count - a.count || (a.lastAt < b.lastAt ? 1 : a.lastAt > b.lastAt ? -1 : 0));
    const shown = gaps.slice(0, limit);
    const result: KnowledgeGap[] = [];
    for (const { conversationKeys, times, ...gap } of shown) {
      const suggested = await this.agentReply(conversationKeys, times, gap.tenant);
      result.push(suggested ? { ...gap, suggestedAnswer: suggested } : gap);
    }
    return {
      from: query.from,
      to: query.to,
      similarity,
      embedder: this.embedder.name,
      questions: questions.length,
      truncated,
      gaps: result,
    };
  }

  /** The gap turns of the range, most recent first, at most {@link MAX_QUESTIONS}. */
  private async candidates(query: GapQuery): Promise<{ candidates: Candidate[]; truncated: boolean }> {
    const facts = this.analytics.db;
    let unanswered = facts
      .selectFrom('turn_facts')
      .select(['event_id', 'tenant', 'language', 'at'])
      .where('customer', '=', true)
      .where('unanswered', '=', true)
      .where('day', '>=', query.from)
      .where('day', '<=', query.to);
    if (query.tenants) unanswered = unanswered.where('tenant', 'in', [...query.tenants]);
    const missed = await unanswered
      .orderBy('at', 'desc')
      .orderBy('event_id')
      .limit(MAX_QUESTIONS + 1)
      .execute();

    // "Did that help? → no" is a turn of its own; the question is the last answered turn before it.
    let feedback = facts
      .selectFrom('turn_facts as f')
      .innerJoin('turn_facts as q', (join) =>
        join
          .onRef('q.conversation_id', '=', 'f.conversation_id')
          .onRef('q.at', '<', 'f.at')
          .on('q.customer', '=', true)
          .on('q.answer_ran', '=', true)
          .on('q.unanswered', '=', false),
      )
      .select(['f.event_id as feedback_id', 'q.event_id', 'q.tenant', 'q.language', 'q.at'])
      .where('f.feedback', '=', 'unhelpful')
      .where('f.day', '>=', query.from)
      .where('f.day', '<=', query.to);
    if (query.tenants) feedback = feedback.where('f.tenant', 'in', [...query.tenants]);
    const unhelpfulRows = await feedback.orderBy('q.at', 'desc').execute();
    const lastBefore = new Map<string, (typeof unhelpfulRows)[number]>();
    for (const row of unhelpfulRows)
      if (!lastBefore.has(row.feedback_id)) lastBefore.set(row.feedback_id, row);

    const byEvent = new Map<string, Candidate>();
    for (const row of missed) {
      byEvent.set(row.event_id, {
        eventId: row.event_id,
        tenant: row.tenant,
        language: row.language,
        reason: 'unanswered',
        at: new Date(row.at),
      });
    }
    for (const row of lastBefore.values()) {
      if (byEvent.has(row.event_id)) continue;
      byEvent.set(row.event_id, {
        eventId: row.event_id,
        tenant: row.tenant,
        language: row.language,
        reason: 'unhelpful',
        at: new Date(row.at),
      });
    }
    const all = [...byEvent.values()].sort(
      (a, b) => b.at.getTime() - a.at.getTime() || (a.eventId < b.eventId ? -1 : 1),
    );
    const kept = all.slice(0, MAX_QUESTIONS);
    // Clustering runs oldest first, so a cluster's first member is its oldest question.
    return { candidates: kept.reverse(), truncated: all.length > MAX_QUESTIONS };
  }

  /** The customers' words of each turn, masked; a turn without text (a tap, a sticker) is left out. */
  private async withTexts(candidates: Candidate[]): Promise<Question[]> {
    const atRest = atRestOf(this.db);
    const texts = new Map<string, { text: string; conversationKey: string }>();
    for (const ids of batches(
      candidates.map((c) => c.eventId),
      500,
    )) {
      const rows = await this.db
        .selectFrom('messages')
        .select(['id', 'text', 'conversation_key', 'kind'])
        .where('id', 'in', ids)
        .where('direction', '=', 'in')
        .execute();
      for (const row of rows) {
        if (row.kind !== 'message') continue;
        texts.set(row.id, { text: openMessageText(atRest, row), conversationKey: row.conversation_key });
      }
    }
    const questions: Question[] = [];
    for (const candidate of candidates) {
      const found = texts.get(candidate.eventId);
      const text = found ? this.masker.mask(found.text, candidate.tenant).trim() : '';
      if (!found || !text) continue;
      questions.push({ ...candidate, text, conversationKey: found.conversationKey, vector: [] });
    }
    return questions;
  }

  /**
   * The first reply an agent sent after one of the cluster's questions, in that question's
   * conversation (the representative's first): what a person answered when the bot could not.
   */
  private async agentReply(
    conversationKeys: string[],
    times: Date[],
    tenant: string,
  ): Promise<{ text: string; at: string } | undefined> {
    const atRest = atRestOf(this.db);
    const keys = [...new Set(conversationKeys)].slice(0, 200);
    if (keys.length === 0) return undefined;
    const rows = await this.db
      .selectFrom('messages')
      .select(['id', 'text', 'conversation_key', 'created_at'])
      .where('conversation_key', 'in', keys)
      .where('direction', '=', 'out')
      .where('source', '=', 'agent')
      .orderBy('created_at')
      .execute();
    for (const [i, key] of conversationKeys.entries()) {
      const after = times[i] as Date;
      const reply = rows.find((row) => row.conversation_key === key && new Date(row.created_at) > after);
      if (!reply) continue;
      const text = this.masker.mask(openMessageText(atRest, reply), tenant).trim();
      if (text) return { text, at: new Date(reply.created_at).toISOString() };
    }
    return undefined;
  }
}

function distinct(texts: string[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const text of texts) {
    const key = text.toLowerCase().replace(/\s+/g, ' ');
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(text);
  }
  return out;
}

function daysBetween(from: string, to: string): string[] {
  const days: string[] = [];
  for (let at = Date.parse(from); at <= Date.parse(to); at += 86_400_000) {
    days.push(new Date(at).toISOString().slice(0, 10));
  }
  return days;
}

function batches<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
