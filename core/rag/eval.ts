import { readFile } from 'node:fs/promises';
import type { Passage, Retriever } from '../types';
import { HubError } from '../types/errors';

/** One line of a labelled JSONL file: a query and the chunk ids (or document ids) that answer it. */
export interface LabelledQuery {
  query: string;
  relevant: string[];
  language?: string;
  tenant?: string;
  /** A subset name reported on its own row too, e.g. "held-out". */
  set?: string;
}

export interface EvalRow {
  label: string;
  queries: number;
  recallAt1: number;
  recallAt5: number;
  recallAt10: number;
  mrr: number;
  /** Queries whose best passage falls under the answer threshold (the bot would say it does not know). */
  refused?: number;
}

export async function readLabelled(file: string): Promise<LabelledQuery[]> {
  const text = await readFile(file, 'utf8');
  return text.split('\n').flatMap((line, i) => {
    if (!line.trim() || line.trim().startsWith('//')) return [];
    let row: Partial<LabelledQuery> & { relevant?: unknown };
    try {
      row = JSON.parse(line);
    } catch (cause) {
      throw new HubError('knowledge.eval', `${file}:${i + 1}: not JSON: ${(cause as Error).message}`, {
        cause,
      });
    }
    const relevant = typeof row.relevant === 'string' ? [row.relevant] : row.relevant;
    if (!row.query || !Array.isArray(relevant) || relevant.length === 0) {
      throw new HubError(
        'knowledge.eval',
        `${file}:${i + 1}: needs "query" and "relevant" (a chunk or document id, or a list of them)`,
      );
    }
    return [{ ...row, query: row.query, relevant: relevant.map(String) } as LabelledQuery];
  });
}

/** Does a passage answer for label `id`: the chunk itself, a later part of it (`id~2`), or any chunk of document `id`. */
export function isRelevant(passage: Passage, id: string): boolean {
  return passage.id === id || passage.id.startsWith(`${id}~`) || passage.docId === id;
}

/**
 * Recall@k: the share of a query's relevant ids found in its top k, averaged over queries (with one
 * relevant id per query, the hit rate). MRR: 1 / rank of the first relevant passage in the top 10.
 */
export async function evaluate(
  retriever: Retriever,
  queries: LabelledQuery[],
  options: { minScore?: number; onProgress?: (done: number, total: number, label: string) => void } = {},
): Promise<EvalRow[]> {
  const rows = new Map<
    string,
    { queries: number; r1: number; r5: number; r10: number; rr: number; refused: number }
  >();
  const add = (label: string, r1: number, r5: number, r10: number, rr: number, refused: boolean) => {
    const row = rows.get(label) ?? { queries: 0, r1: 0, r5: 0, r10: 0, rr: 0, refused: 0 };
    row.queries++;
    row.r1 += r1;
    row.r5 += r5;
    row.r10 += r10;
    row.rr += rr;
    row.refused += refused ? 1 : 0;
    rows.set(label, row);
  };
  for (const [i, q] of queries.entries()) {
    options.onProgress?.(i, queries.length, q.query);
    const passages = await retriever.search(q.query, {
      k: 10,
      ...(q.language ? { language: q.language } : {}),
      ...(q.tenant ? { tenant: q.tenant } : {}),
    });
    const recall = (k: number) =>
      q.relevant.filter((id) => passages.slice(0, k).some((p) => isRelevant(p, id))).length /
      q.relevant.length;
    const first = passages.findIndex((p) => q.relevant.some((id) => isRelevant(p, id)));
    const rr = first < 0 ? 0 : 1 / (first + 1);
    const refused = options.minScore !== undefined && (passages[0]?.score ?? 0) < options.minScore;
    const labels = [
      'all',
      q.language ?? 'unlabelled',
      ...(q.set ? [q.set, `${q.set}/${q.language ?? '?'}`] : []),
    ];
    for (const label of labels) add(label, recall(1), recall(5), recall(10), rr, refused);
  }
  options.onProgress?.(queries.length, queries.length, '');
  return [...rows].map(([label, r]) => ({
    label,
    queries: r.queries,
    recallAt1: r.r1 / r.queries,
    recallAt5: r.r5 / r.queries,
    recallAt10: r.r10 / r.queries,
    mrr: r.rr / r.queries,
    ...(options.minScore !== undefined ? { refused: r.refused } : {}),
  }));
}

export function formatEval(rows: EvalRow[]): string {
  const pct = (x: number) => x.toFixed(3);
  const head = [
    'set',
    'queries',
    'R@1',
    'R@5',
    'R@10',
    'MRR',
    ...(rows[0]?.refused !== undefined ? ['refused'] : []),
  ];
  const body = rows.map((r) => [
    r.label,
    String(r.queries),
    pct(r.recallAt1),
    pct(r.recallAt5),
    pct(r.recallAt10),
    pct(r.mrr),
    ...(r.refused !== undefined ? [String(r.refused)] : []),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]?.length ?? 0)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  return [line(head), ...body.map(line)].join('\n');
}
