import { randomUUID } from 'node:crypto';
import { type ColumnType, type Kysely, type Selectable, sql } from 'kysely';
import type { AnalyticsDatabase } from '../analytics/store';
import type { Confusion, IntentScore } from '../dialog/intent/eval';
import type { AtRest } from '../privacy/at-rest';
import { atRestOf } from '../store/at-rest';
import { openMessageText } from '../store/rows';
import type { Database } from '../store/schema';

type Timestamp = ColumnType<Date, Date | string, Date | string>;
type JsonColumn<T> = ColumnType<T, string, string>;

interface IntentEvaluationsTable {
  id: string;
  dataset: string;
  source: string;
  status: string;
  requested_by: string | null;
  examples: number | null;
  labels: number | null;
  folds: number | null;
  accuracy: number | null;
  macro_f1: number | null;
  per_intent: JsonColumn<IntentScore[]> | null;
  confusions: JsonColumn<Confusion[]> | null;
  duration_ms: number | null;
  error: string | null;
  started_at: Timestamp;
  finished_at: Timestamp | null;
}

interface IntentLabelsTable {
  id: string;
  event_id: string;
  tenant: string;
  predicted: string | null;
  intent: string;
  status: string;
  labelled_by: string;
  labelled_at: Timestamp;
  reviewed_by: string | null;
  reviewed_at: Timestamp | null;
  example: string | null;
}

export interface IntentReviewDatabase extends AnalyticsDatabase, Pick<Database, 'messages'> {
  intent_evaluations: IntentEvaluationsTable;
  intent_labels: IntentLabelsTable;
  /** Read for the labeller's display name only (migration 0007). */
  operators: { id: string; display_name: string };
}

export type EvaluationStatus = 'running' | 'done' | 'failed';
export type LabelStatus = 'pending' | 'approved' | 'rejected';

/** One evaluation run as operators see it. */
export interface IntentEvaluation {
  id: string;
  dataset: string;
  source: 'cli' | 'console';
  status: EvaluationStatus;
  requestedBy: string | null;
  examples: number | null;
  labels: number | null;
  folds: number | null;
  accuracy: number | null;
  macroF1: number | null;
  perIntent: IntentScore[];
  confusions: Confusion[];
  durationMs: number | null;
  error: string | null;
  startedAt: string;
  finishedAt: string | null;
}

/** The figures an evaluation leaves behind (core/dialog/intent/eval.ts `crossValidate`). */
export interface EvaluationFigures {
  examples: number;
  labels: number;
  folds: number;
  accuracy: number;
  macroF1: number;
  perIntent: IntentScore[];
  confusions: Confusion[];
  durationMs: number;
}

export interface IntentLabel {
  id: string;
  eventId: string;
  tenant: string;
  predicted: string | null;
  intent: string;
  status: LabelStatus;
  labelledBy: string;
  labelledAt: string;
  reviewedBy: string | null;
  reviewedAt: string | null;
}

/** Per intent: customer turns, their confidences in tenths (0 is [0, 0.1), 9 is [0.9, 1]). */
export interface IntentDistribution {
  intent: string;
  turns: number;
  histogram: number[];
}

/** A turn of the review queue; `text` as stored (the route passes it through `transcriptView`). */
export interface ReviewTurn {
  eventId: string;
  at: string;
  tenant: string;
  channel: string;
  predicted: string;
  confidenceBucket: number | null;
  text: string;
  label:
    | (Pick<IntentLabel, 'id' | 'intent' | 'status' | 'labelledBy' | 'labelledAt'> & {
        /** The labelling operator's display name; null for a machine token or an operator since removed. */
        labelledByName: string | null;
      })
    | null;
}

export interface TurnScope {
  from: string;
  to: string;
  /** Only these tenants; undefined: every tenant. */
  tenants?: string[];
}

const iso = (value: Date | string | null): string | null =>
  value === null ? null : new Date(value).toISOString();

/** jsonb read back: PostgreSQL gives the value, a string only if it was stored as one. */
function jsonOf<T>(value: unknown, empty: T): T {
  if (value === null || value === undefined) return empty;
  return (typeof value === 'string' ? JSON.parse(value) : value) as T;
}

/**
 * The tables of intent review (migration 0014) and the turn facts they are read beside. The
 * turn's text is read from `messages` and opened with the store's sealer; a label's approved
 * example is sealed in `intent_labels.example`, bound to the label's id.
 */
export class IntentReviewStore {
  readonly db: Kysely<IntentReviewDatabase>;
  private readonly atRest: AtRest;

  constructor(db: Kysely<Database>) {
    this.db = db as unknown as Kysely<IntentReviewDatabase>;
    this.atRest = atRestOf(db);
  }

  // --- evaluations ---

  async startEvaluation(run: {
    dataset: string;
    source: 'cli' | 'console';
    requestedBy?: string;
  }): Promise<string> {
    const id = randomUUID();
    await this.db
      .insertInto('intent_evaluations')
      .values({
        id,
        dataset: run.dataset,
        source: run.source,
        status: 'running',
        requested_by: run.requestedBy ?? null,
        started_at: new Date(),
      })
      .execute();
    return id;
  }

  async finishEvaluation(id: string, figures: EvaluationFigures): Promise<void> {
    await this.db
      .updateTable('intent_evaluations')
      .set({
        status: 'done',
        examples: figures.examples,
        labels: figures.labels,
        folds: figures.folds,
        accuracy: figures.accuracy,
        macro_f1: figures.macroF1,
        per_intent: JSON.stringify(figures.perIntent),
        confusions: JSON.stringify(figures.confusions),
        duration_ms: Math.round(figures.durationMs),
        finished_at: new Date(),
      })
      .where('id', '=', id)
      .execute();
  }

  async failEvaluation(id: string, error: string): Promise<void> {
    await this.db
      .updateTable('intent_evaluations')
      .set({ status: 'failed', error: error.slice(0, 500), finished_at: new Date() })
      .where('id', '=', id)
      .execute();
  }

  /** The newest runs first. */
  async evaluations(limit = 10): Promise<IntentEvaluation[]> {
    const rows = await this.db
      .selectFrom('intent_evaluations')
      .selectAll()
      .orderBy('started_at', 'desc')
      .orderBy('id')
      .limit(limit)
      .execute();
    return rows.map((row) => ({
      id: row.id,
      dataset: row.dataset,
      source: row.source as IntentEvaluation['source'],
      status: row.status as EvaluationStatus,
      requestedBy: row.requested_by,
      examples: row.examples,
      labels: row.labels,
      folds: row.folds,
      accuracy: row.accuracy === null ? null : Number(row.accuracy),
      macroF1: row.macro_f1 === null ? null : Number(row.macro_f1),
      perIntent: jsonOf<IntentScore[]>(row.per_intent, []),
      confusions: jsonOf<Confusion[]>(row.confusions, []),
      durationMs: row.duration_ms,
      error: row.error,
      startedAt: iso(row.started_at) as string,
      finishedAt: iso(row.finished_at),
    }));
  }

  // --- the distribution ---

  /** Customer turns whose intent was recognized, per intent and confidence tenth, in the days asked. */
  async distribution(scope: TurnScope): Promise<IntentDistribution[]> {
    let query = this.db
      .selectFrom('turn_facts')
      .select(['intent', 'confidence_bucket', sql<string>`count(*)`.as('n')])
      .where('customer', '=', true)
      .where('intent', 'is not', null)
      .where('day', '>=', scope.from)
      .where('day', '<=', scope.to)
      .groupBy(['intent', 'confidence_bucket']);
    if (scope.tenants) query = query.where('tenant', 'in', scope.tenants.length ? scope.tenants : ['']);
    const rows = await query.execute();
    const byIntent = new Map<string, IntentDistribution>();
    for (const row of rows) {
      const name = row.intent as string;
      const entry = byIntent.get(name) ?? { intent: name, turns: 0, histogram: new Array(10).fill(0) };
      const n = Number(row.n);
      entry.turns += n;
      if (row.confidence_bucket !== null) {
        const bucket = Math.min(9, Math.max(0, row.confidence_bucket));
        entry.histogram[bucket] = (entry.histogram[bucket] ?? 0) + n;
      }
      byIntent.set(name, entry);
    }
    return [...byIntent.values()].sort((a, b) => b.turns - a.turns || a.intent.localeCompare(b.intent));
  }

  /**
   * Of the labelled turns (pending or approved) in the days asked, per right intent: how many there
   * are and how many the recognizer had left `unknown`: the intent's unknown rate as reviewed.
   */
  async labelledOutcomes(scope: TurnScope): Promise<Map<string, { labelled: number; unknown: number }>> {
    let query = this.db
      .selectFrom('intent_labels as l')
      .innerJoin('turn_facts as t', 't.event_id', 'l.event_id')
      .select([
        'l.intent',
        sql<string>`count(*)`.as('labelled'),
        sql<string>`count(*) filter (where l.predicted = 'unknown')`.as('unknown'),
      ])
      .where('l.status', '!=', 'rejected')
      .where('t.day', '>=', scope.from)
      .where('t.day', '<=', scope.to)
      .groupBy('l.intent');
    if (scope.tenants) query = query.where('l.tenant', 'in', scope.tenants.length ? scope.tenants : ['']);
    const rows = await query.execute();
    return new Map(
      rows.map((row) => [row.intent, { labelled: Number(row.labelled), unknown: Number(row.unknown) }]),
    );
  }

  // --- the review queue ---

  /**
   * The newest customer turns worth a look: left `unknown`, recognized below `below` (0–1), or
   * labelled and waiting for review; each with its text (opened) and its label, if any.
   */
  async reviewQueue(scope: TurnScope & { below: number; limit: number }): Promise<ReviewTurn[]> {
    const bucketBelow = Math.round(scope.below * 10);
    let query = this.db
      .selectFrom('turn_facts as t')
      .innerJoin('messages as m', 'm.id', 't.event_id')
      .leftJoin('intent_labels as l', 'l.event_id', 't.event_id')
      .leftJoin('operators as o', (join) => join.on(sql`'operator:' || o.id`, '=', sql.ref('l.labelled_by')))
      .select([
        'o.display_name',
        't.event_id',
        't.at',
        't.tenant',
        't.channel',
        't.intent',
        't.confidence_bucket',
        'm.id as message_id',
        'm.text',
        'l.id as label_id',
        'l.intent as label_intent',
        'l.status as label_status',
        'l.labelled_by',
        'l.labelled_at',
      ])
      .where('t.customer', '=', true)
      .where('t.intent', 'is not', null)
      .where('t.day', '>=', scope.from)
      .where('t.day', '<=', scope.to)
      .where((eb) =>
        eb.or([
          eb('t.intent', '=', 'unknown'),
          eb('t.confidence_bucket', '<', bucketBelow),
          eb('l.status', '=', 'pending'),
        ]),
      )
      .orderBy('t.at', 'desc')
      .orderBy('t.event_id')
      .limit(scope.limit);
    if (scope.tenants) query = query.where('t.tenant', 'in', scope.tenants.length ? scope.tenants : ['']);
    const rows = await query.execute();
    return rows.map((row) => ({
      eventId: row.event_id,
      at: iso(row.at) as string,
      tenant: row.tenant,
      channel: row.channel,
      predicted: row.intent as string,
      confidenceBucket: row.confidence_bucket,
      text: openMessageText(this.atRest, { id: row.message_id, text: row.text }),
      label:
        row.label_id === null
          ? null
          : {
              id: row.label_id,
              intent: row.label_intent as string,
              status: row.label_status as LabelStatus,
              labelledBy: row.labelled_by as string,
              labelledAt: iso(row.labelled_at) as string,
              labelledByName: row.display_name,
            },
    }));
  }

  /** A customer turn whose intent was recognized: its tenant, what was recognized, its text (undefined: purged). */
  async turn(
    eventId: string,
  ): Promise<{ tenant: string; predicted: string; text: string | undefined } | undefined> {
    const row = await this.db
      .selectFrom('turn_facts as t')
      .leftJoin('messages as m', 'm.id', 't.event_id')
      .select(['t.tenant', 't.intent', 'm.id as message_id', 'm.text'])
      .where('t.event_id', '=', eventId)
      .where('t.customer', '=', true)
      .where('t.intent', 'is not', null)
      .executeTakeFirst();
    if (!row) return undefined;
    const text =
      row.message_id === null || row.text === null
        ? undefined
        : openMessageText(this.atRest, { id: row.message_id, text: row.text });
    return { tenant: row.tenant, predicted: row.intent as string, text: text || undefined };
  }

  // --- labels ---

  /**
   * Labels a turn; a label still pending (or rejected) is replaced, an approved one stays: answers
   * undefined then.
   */
  async label(entry: {
    eventId: string;
    tenant: string;
    predicted: string;
    intent: string;
    by: string;
  }): Promise<IntentLabel | undefined> {
    const now = new Date();
    const row = await this.db
      .insertInto('intent_labels')
      .values({
        id: randomUUID(),
        event_id: entry.eventId,
        tenant: entry.tenant,
        predicted: entry.predicted,
        intent: entry.intent,
        status: 'pending',
        labelled_by: entry.by,
        labelled_at: now,
      })
      .onConflict((oc) =>
        oc
          .column('event_id')
          .doUpdateSet({
            intent: entry.intent,
            status: 'pending',
            labelled_by: entry.by,
            labelled_at: now,
            reviewed_by: null,
            reviewed_at: null,
          })
          .where('intent_labels.status', '!=', 'approved'),
      )
      .returningAll()
      .executeTakeFirst();
    return row ? labelOf(row) : undefined;
  }

  async labelById(id: string): Promise<IntentLabel | undefined> {
    const row = await this.db.selectFrom('intent_labels').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? labelOf(row) : undefined;
  }

  /** Pending → approved with its example (sealed); undefined when it was not pending. */
  async approve(id: string, by: string, example: string): Promise<IntentLabel | undefined> {
    const row = await this.db
      .updateTable('intent_labels')
      .set({
        status: 'approved',
        reviewed_by: by,
        reviewed_at: new Date(),
        example: this.atRest.seal(example, { table: 'intent_labels', column: 'example', row: id }),
      })
      .where('id', '=', id)
      .where('status', '=', 'pending')
      .returningAll()
      .executeTakeFirst();
    return row ? labelOf(row) : undefined;
  }

  /** Pending → rejected; undefined when it was not pending. */
  async reject(id: string, by: string): Promise<IntentLabel | undefined> {
    const row = await this.db
      .updateTable('intent_labels')
      .set({ status: 'rejected', reviewed_by: by, reviewed_at: new Date() })
      .where('id', '=', id)
      .where('status', '=', 'pending')
      .returningAll()
      .executeTakeFirst();
    return row ? labelOf(row) : undefined;
  }

  /** Every approved example by intent, oldest approval first: the content of the learned-examples file. */
  async approvedExamples(): Promise<Record<string, string[]>> {
    const rows = await this.db
      .selectFrom('intent_labels')
      .select(['id', 'intent', 'example'])
      .where('status', '=', 'approved')
      .where('example', 'is not', null)
      .orderBy('reviewed_at')
      .orderBy('id')
      .execute();
    const out: Record<string, string[]> = {};
    for (const row of rows) {
      const text = this.atRest.open(row.example as string, {
        table: 'intent_labels',
        column: 'example',
        row: row.id,
      });
      const list = out[row.intent] ?? [];
      if (!list.includes(text)) list.push(text);
      out[row.intent] = list;
    }
    return out;
  }
}

function labelOf(row: Selectable<IntentLabelsTable>): IntentLabel {
  return {
    id: row.id,
    eventId: row.event_id,
    tenant: row.tenant,
    predicted: row.predicted,
    intent: row.intent,
    status: row.status as LabelStatus,
    labelledBy: row.labelled_by,
    labelledAt: iso(row.labelled_at) as string,
    reviewedBy: row.reviewed_by,
    reviewedAt: iso(row.reviewed_at),
  };
}
