/**
 * Writes knowledge/eval/labelled.jsonl from three sources, each line labelled with the chunk id (or
 * document id) that answers it, or as unanswerable:
 * - the 80 questions of test/unit/rag-questions.ts (written before the retriever was tuned; set
 *   "tuning") and its 20 off-topic questions (unanswerable, "tuning");
 * - knowledge/eval/held-out.jsonl: [language, question, anchor] (set "held-out");
 * - knowledge/eval/customer.jsonl: [language, question, anchor | "@docId" | null, set?], questions in
 *   customers' own words (typos, colloquial, short follow-ups, things the shop does not answer),
 *   style "customer". Without a set, each language's lines alternate tuning / held-out.
 * Tune weights and thresholds on "tuning" only; report "held-out" apart (hub kb eval does).
 * Run: npx tsx knowledge/eval/build-labelled.ts
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { loadKnowledge } from '../../core/rag/load';
import { EVAL_QUESTIONS, OFF_TOPIC } from '../../test/unit/rag-questions';

const here = path.dirname(new URL(import.meta.url).pathname);
const chunks = await loadKnowledge(path.resolve(here, '..'));
const idOf = (language: string, anchor: string) => {
  if (anchor.startsWith('@')) {
    const docId = anchor.slice(1);
    if (!chunks.some((c) => c.docId === docId)) throw new Error(`no document ${docId}`);
    return docId;
  }
  const hit = chunks.find((c) => c.language === language && c.section === anchor);
  if (!hit) throw new Error(`no ${language} entry #${anchor}`);
  return hit.id;
};
const jsonl = async <T>(file: string) =>
  (await readFile(path.join(here, file), 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as T);

const heldOut = await jsonl<[string, string, string]>('held-out.jsonl');
const customer = await jsonl<[string, string, string | null, string?]>('customer.jsonl');
const alternate = new Map<string, number>();
const lines = [
  ...EVAL_QUESTIONS.map((q) => ({
    query: q.question,
    language: q.language,
    relevant: [idOf(q.language, q.expected)],
    set: 'tuning',
  })),
  ...OFF_TOPIC.map((q) => ({
    query: q.question,
    language: q.language,
    relevant: [],
    answerable: false,
    set: 'tuning',
  })),
  ...heldOut.map(([language, query, anchor]) => ({
    query,
    language,
    relevant: [idOf(language, anchor)],
    set: 'held-out',
  })),
  ...customer.map(([language, query, anchor, set]) => {
    const n = alternate.get(language) ?? 0;
    if (!set) alternate.set(language, n + 1);
    return {
      query,
      language,
      relevant: anchor ? [idOf(language, anchor)] : [],
      ...(anchor ? {} : { answerable: false }),
      set: set ?? (n % 2 === 0 ? 'tuning' : 'held-out'),
      style: 'customer',
    };
  }),
];
// An eval query that is also an entry's `Also asked:` question would measure nothing.
const plain = (text: string) => text.toLowerCase().replace(/[\p{P}\p{S}\s]+/gu, '');
const asked = new Set(chunks.flatMap((c) => (c.questions ?? []).map(plain)));
const leaked = lines.filter((l) => asked.has(plain(l.query)));
if (leaked.length) throw new Error(`queries also listed under "Also asked:": ${leaked.map((l) => l.query).join(' | ')}`);
await writeFile(path.join(here, 'labelled.jsonl'), `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`);
console.log(`${lines.length} labelled queries`);
