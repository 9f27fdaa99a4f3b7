/**
 * What the offline hashed embedder buys and costs on the labelled set: BM25 alone, the hashed vector
 * alone, and the default fusion. Run: npx tsx knowledge/eval/compare-fusion.ts
 */
import path from 'node:path';
import { EmbeddedRetriever } from '../../core/rag/retrievers/embedded';
import { evaluate, formatEval, readLabelled } from '../../core/rag/eval';
import { DEFAULT_FUSION } from '../../core/rag/fusion';
import { loadKnowledge } from '../../core/rag/load';

const here = path.dirname(new URL(import.meta.url).pathname);
const chunks = await loadKnowledge(path.resolve(here, '..'));
const queries = await readLabelled(path.join(here, 'labelled.jsonl'));
for (const [label, textWeight] of [
  ['BM25 only', 1],
  ['hashed vector only', 0],
  [`fusion (default, textWeight ${DEFAULT_FUSION.textWeight})`, DEFAULT_FUSION.textWeight],
] as const) {
  const retriever = new EmbeddedRetriever({ fusion: { ...DEFAULT_FUSION, textWeight } });
  await retriever.replaceAll(chunks);
  const rows = await evaluate(retriever, queries);
  console.log(`\n${label}\n${formatEval(rows.filter((r) => ['all', 'tuning', 'held-out'].includes(r.label)))}`);
}
