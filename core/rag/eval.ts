import { readFile } from 'node:fs/promises';
import type { Passage, Retriever } from '../types';
import { HubError } from '../types/errors';
import {
  auroc,
  type CalibrationSample,
  CONFIDENCE_MEASURES,
  type ConfidenceMeasure,
  confidenceOf,
  outcomeAt,
} from './calibration';

/**
 * One line of a labelled JSONL file: a query and the chunk ids (or document ids) that answer it; or
 * `"relevant": [], "answerable": false` for a question the knowledge base has no answer to (the bot
 * should say it does not know).
 */
export interface LabelledQuery {
  query: string;
  relevant: string[];
  /** False: nothing in the knowledge base answers it. Default true. */
  answerable?: boolean;
  language?: string;
  tenant?: string;
  /** A subset name reported on its own row too, e.g. "tuning", "held-out". */
  set?: string;
  /** "customer": written in a customer's own words (typos, colloquial, follow-ups). */
  style?: string;
}

export interface EvalRow {
  label: string;
  /** Answerable queries (the ranking figures are over these). */
  queries: number;
  recallAt1: number;
  recallAt5: number;
  recallAt10: number;
  mrr: number;
  /** Unanswerable queries in the row. */
  unanswerable?: number;
  /** Answerable queries refused at the threshold (the bot would say it does not know). */
  refused?: number;
  /** Answerable queries answered with a wrong passage at the threshold. */
  wrong?: number;
  /** Unanswerable queries refused at the threshold. */
  refusedUnanswerable?: number;
  /** Share of the answered queries (unanswerable ones included) whose first passage is right. */
  precision?: number;
  /** Share of the answerable queries answered (right or wrong). */
  coverage?: number;
  /** AUROC of the confidence: right first passage vs wrong one or unanswerable. */
  auroc?: number;
}

export async function readLabelled(file: string): Promise<LabelledQuery[]> {
  const text = await readFile(file, 'utf8');
  return text.split('\n').flatMap((line, i) => {
    if (!line.trim() || line.trim().startsWith('//')) return [];
    let row: Partial<LabelledQuery> & { relevant?: unknown; answerable?: unknown };
    try {
      row = JSON.parse(line);
    } catch (cause) {
      throw new HubError('knowledge.eval', `${file}:${i + 1}: not JSON: ${(cause as Error).message}`, {
        cause,
      });
    }
    const relevant = typeof row.relevant === 'string' ? [row.relevant] : row.relevant;
    const unanswerable = row.answerable === false;
    if (!row.query || !Array.isArray(relevant) || (relevant.length === 0) !== unanswerable) {
      throw new HubError(
        'knowledge.eval',
        `${file}:${i + 1}: needs "query" and "relevant" (a chunk or document id, or a list of them), or "relevant": [] with "answerable": false`,
      );
    }
    return [
      {
        ...row,
        query: row.query,
        relevant: relevant.map(String),
        answerable: !unanswerable,
      } as LabelledQuery,
    ];
  });
}

/** Does a passage answer for label `id`: the chunk itself, a later part of it (`id~2`), or any chunk of document `id`. */
export function isRelevant(passage: Passage, id: string): boolean {
  return passage.id === id || passage.id.startsWith(`${id}~`) || passage.docId === id;
}

/** One labelled query searched: its ranked passages (no threshold) and where the first right one is. */
export interface QueryOutcome {
  query: LabelledQuery;
  passages: Passage[];
  /** 0-based rank of the first relevant passage; -1 when none in the top 10 or unanswerable. */
  rank: number;
}

/** Searches every query (top 10, no threshold): the raw material of the figures below. */
export async function runQueries(
  retriever: Retriever,
  queries: LabelledQuery[],
  onProgress?: (done: number, total: number, label: string) => void,
): Promise<QueryOutcome[]> {
  const outcomes: QueryOutcome[] = [];
  for (const [i, q] of queries.entries()) {
    onProgress?.(i, queries.length, q.query);
    const passages = await retriever.search(q.query, {
      k: 10,
      ...(q.language ? { language: q.language } : {}),
      ...(q.tenant ? { tenant: q.tenant } : {}),
    });
    const rank = passages.findIndex((p) => q.relevant.some((id) => isRelevant(p, id)));
    outcomes.push({ query: q, passages, rank });
  }
  onProgress?.(queries.length, queries.length, '');
  return outcomes;
}

/** Confidence samples: right means an answerable question whose first passage is relevant. */
export function samplesOf(outcomes: QueryOutcome[], measure: ConfidenceMeasure): CalibrationSample[] {
  return outcomes.map((o) => ({ confidence: confidenceOf(o.passages, measure), correct: o.rank === 0 }));
}

export interface EvalOptions {
  /** Answer when the confidence is at least this; adds refused / wrong / refusedUnanswerable. */
  threshold?: number;
  measure?: ConfidenceMeasure;
}

/**
 * Rows for every label ("all", each language, each set and set/language, "customer" wording):
 * Recall@k (share of a query's relevant ids in its top k, averaged; with one id, the hit rate), MRR
 * (1 / rank of the first relevant passage in the top 10) over answerable queries, and, with a
 * threshold, what answering or refusing at it does, with the confidence's AUROC.
 */
export function evalRows(outcomes: QueryOutcome[], options: EvalOptions = {}): EvalRow[] {
  const groups = new Map<string, QueryOutcome[]>();
  for (const o of outcomes) {
    const q = o.query;
    const labels = [
      'all',
      q.language ?? 'unlabelled',
      ...(q.set ? [q.set, `${q.set}/${q.language ?? '?'}`] : []),
      ...(q.style ? [q.style, `${q.style}/${q.set ?? '?'}`] : []),
    ];
    for (const label of labels) groups.set(label, [...(groups.get(label) ?? []), o]);
  }
  const measure = options.measure ?? 'score';
  return [...groups].map(([label, group]) => {
    const answerable = group.filter((o) => o.query.answerable !== false);
    const n = answerable.length || 1;
    const recall = (o: QueryOutcome, k: number) =>
      o.query.relevant.filter((id) => o.passages.slice(0, k).some((p) => isRelevant(p, id))).length /
      o.query.relevant.length;
    const sum = (f: (o: QueryOutcome) => number) => answerable.reduce((s, o) => s + f(o), 0) / n;
    const row: EvalRow = {
      label,
      queries: answerable.length,
      recallAt1: sum((o) => recall(o, 1)),
      recallAt5: sum((o) => recall(o, 5)),
      recallAt10: sum((o) => recall(o, 10)),
      mrr: sum((o) => (o.rank < 0 ? 0 : 1 / (o.rank + 1))),
      unanswerable: group.length - answerable.length,
    };
    if (options.threshold === undefined) return row;
    const confident = (o: QueryOutcome) => confidenceOf(o.passages, measure) >= (options.threshold ?? 0);
    const answered = group.filter(confident);
    return {
      ...row,
      precision: answered.length ? answered.filter((o) => o.rank === 0).length / answered.length : Number.NaN,
      coverage: answerable.length ? answerable.filter(confident).length / answerable.length : Number.NaN,
      refused: answerable.filter((o) => !confident(o)).length,
      wrong: answerable.filter((o) => confident(o) && o.rank !== 0).length,
      refusedUnanswerable: group.filter((o) => o.query.answerable === false && !confident(o)).length,
      auroc: auroc(samplesOf(group, measure)),
    };
  });
}

/** AUROC of each confidence measure over `outcomes`: which one separates right from wrong best. */
export function measureAurocs(outcomes: QueryOutcome[]): { measure: ConfidenceMeasure; auroc: number }[] {
  return CONFIDENCE_MEASURES.map((measure) => ({ measure, auroc: auroc(samplesOf(outcomes, measure)) }));
}

/** Threshold → answered %, precision of the answered, right answers kept %, unanswerable refused %. */
export function thresholdTable(
  outcomes: QueryOutcome[],
  measure: ConfidenceMeasure,
  thresholds: number[],
): string {
  const samples = samplesOf(outcomes, measure);
  const unanswerable = outcomes.filter((o) => o.query.answerable === false);
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const rows = thresholds.map((t) => {
    const outcome = outcomeAt(samples, t);
    const refusedUnanswerable = unanswerable.length
      ? unanswerable.filter((o) => confidenceOf(o.passages, measure) < t).length / unanswerable.length
      : Number.NaN;
    return [
      t.toFixed(3),
      pct(outcome.answered),
      pct(outcome.precision),
      pct(outcome.coverage),
      pct(refusedUnanswerable),
    ];
  });
  // "right kept": of the questions whose first passage is right, the share still answered.
  return table(['threshold', 'answered', 'precision', 'right kept', 'unanswerable refused'], rows);
}

export function formatEval(rows: EvalRow[]): string {
  const f = (x: number) => (Number.isNaN(x) ? '-' : x.toFixed(3));
  const withThreshold = rows[0]?.refused !== undefined;
  const head = [
    'set',
    'answerable',
    'R@1',
    'R@5',
    'R@10',
    'MRR',
    'unanswerable',
    ...(withThreshold ? ['refused', 'wrong', 'unans. refused', 'precision', 'coverage', 'AUROC'] : []),
  ];
  const body = rows.map((r) => [
    r.label,
    String(r.queries),
    f(r.recallAt1),
    f(r.recallAt5),
    f(r.recallAt10),
    f(r.mrr),
    String(r.unanswerable ?? 0),
    ...(withThreshold
      ? [
          String(r.refused),
          String(r.wrong),
          String(r.refusedUnanswerable),
          f(r.precision ?? Number.NaN),
          f(r.coverage ?? Number.NaN),
          f(r.auroc ?? Number.NaN),
        ]
      : []),
  ]);
  return table(head, body);
}

function table(head: string[], body: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]?.length ?? 0)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  return [line(head), ...body.map(line)].join('\n');
}

/** Kept for callers that want ranking rows in one call (no threshold). */
export async function evaluate(
  retriever: Retriever,
  queries: LabelledQuery[],
  options: EvalOptions & { onProgress?: (done: number, total: number, label: string) => void } = {},
): Promise<EvalRow[]> {
  return evalRows(await runQueries(retriever, queries, options.onProgress), options);
}
