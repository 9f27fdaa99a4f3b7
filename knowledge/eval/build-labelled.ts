/**
 * Writes knowledge/eval/labelled.jsonl: the 80 questions of test/unit/rag-questions.ts (written
 * before the retriever was tuned) plus held-out questions (knowledge/eval/held-out.jsonl, [language, question, anchor] per line, written for
 * this set without looking at any scores), each labelled with the chunk id that answers it.
 * Run: npx tsx knowledge/eval/build-labelled.ts
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { loadKnowledge } from '../../core/rag/load';
import { EVAL_QUESTIONS } from '../../test/unit/rag-questions';

const here = path.dirname(new URL(import.meta.url).pathname);
const chunks = await loadKnowledge(path.resolve(here, '..'));
const idOf = (language: string, anchor: string) => {
  const hit = chunks.find((c) => c.language === language && c.section === anchor);
  if (!hit) throw new Error(`no ${language} entry #${anchor}`);
  return hit.id;
};
const heldOut = (await readFile(path.join(here, 'held-out.jsonl'), 'utf8'))
  .split('\n')
  .filter(Boolean)
  .map((line) => JSON.parse(line) as [string, string, string]);
const lines = [
  ...EVAL_QUESTIONS.map((q) => ({ query: q.question, language: q.language, relevant: [idOf(q.language, q.expected)], set: 'tuning' })),
  ...heldOut
    .filter(([, , anchor]) => anchor !== '__none__')
    .map(([language, query, anchor]) => ({ query, language, relevant: [idOf(language, anchor)], set: 'held-out' })),
];
await writeFile(path.join(here, 'labelled.jsonl'), `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`);
console.log(`${lines.length} labelled queries`);
