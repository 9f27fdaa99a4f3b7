/**
 * `npm run bench:retrieval`: the embedded retriever on the demo knowledge base and its labelled set
 * (knowledge/eval/labelled.jsonl). Prints, on this machine's CPU:
 * - index build time and query latency p50/p99 over the eval queries (the shipped configuration);
 * - the ablation: each part of the retriever added in turn (R@1, R@5, MRR on tuning and held-out,
 *   AUROC of the best-score confidence), and the shipped set-up without each part;
 * - with --tune, a grid over the field boosts and shares, scored on the tuning rows only.
 *
 * Options: --labelled <file>  --config <hub yaml> (synonyms; default config/hub.yaml)  --tune
 * No assertions: figures to compare, not to pass.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../core/config/load';
import { AnsweringRetriever } from '../core/rag/answering-retriever';
import { auroc } from '../core/rag/calibration';
import { type LabelledQuery, type QueryOutcome, readLabelled, runQueries, samplesOf } from '../core/rag/eval';
import { synonymsOf } from '../core/rag/index';
import { loadKnowledge } from '../core/rag/load';
import {
  DEFAULT_FEATURES,
  DEFAULT_RETRIEVAL_WEIGHTS,
  EmbeddedRetriever,
  type RetrievalFeatures,
  type RetrievalWeights,
} from '../core/rag/retrievers/embedded';
import { Synonyms } from '../core/rag/synonyms';
import { percentile } from './load';

const { values } = parseArgs({
  options: {
    labelled: { type: 'string', default: 'knowledge/eval/labelled.jsonl' },
    config: { type: 'string', default: 'config/hub.yaml' },
    tune: { type: 'boolean', default: false },
  },
});

const config = await loadConfig(path.resolve(values.config));
const synonyms = synonymsOf(config);
const chunks = await loadKnowledge(path.resolve(config.knowledge.dir));
const queries = await readLabelled(path.resolve(values.labelled));

interface Variant {
  label: string;
  features: Partial<RetrievalFeatures>;
  weights?: Partial<RetrievalWeights>;
  synonyms?: boolean;
}

async function build(variant: Variant) {
  const index = new EmbeddedRetriever({ features: variant.features, weights: variant.weights ?? {} });
  const started = performance.now();
  await index.replaceAll(chunks);
  const buildMs = performance.now() - started;
  const retriever = new AnsweringRetriever(index, {
    minScore: 0,
    synonyms: variant.synonyms === false ? new Synonyms() : synonyms,
  });
  return { retriever, buildMs };
}

function figures(outcomes: QueryOutcome[], set: string) {
  const rows = outcomes.filter((o) => o.query.set === set);
  const answerable = rows.filter((o) => o.query.answerable !== false);
  const n = answerable.length || 1;
  return {
    r1: answerable.filter((o) => o.rank === 0).length / n,
    r5: answerable.filter((o) => o.rank >= 0 && o.rank < 5).length / n,
    mrr: answerable.reduce((s, o) => s + (o.rank < 0 ? 0 : 1 / (o.rank + 1)), 0) / n,
    auroc: auroc(samplesOf(rows, 'score')),
  };
}

async function measure(variant: Variant, subset: LabelledQuery[] = queries) {
  const { retriever } = await build(variant);
  return runQueries(retriever, subset);
}

const f3 = (x: number) => x.toFixed(3);
const header = `${'variant'.padEnd(44)}  tun R@1  R@5   MRR   AUROC | held R@1  R@5   MRR   AUROC`;
const line = (label: string, outcomes: QueryOutcome[]) => {
  const t = figures(outcomes, 'tuning');
  const h = figures(outcomes, 'held-out');
  return `${label.padEnd(44)}  ${f3(t.r1)} ${f3(t.r5)} ${f3(t.mrr)} ${f3(t.auroc)} | ${f3(h.r1)} ${f3(h.r5)} ${f3(h.mrr)} ${f3(h.auroc)}`;
};

const BASELINE: Partial<RetrievalFeatures> = {
  jieba: false,
  alternatives: false,
  grams: false,
  spelling: false,
  coverage: false,
  vectors: true,
};
const EQUAL_WEIGHTS: Partial<RetrievalWeights> = { title: 1, questions: 1, text: 1, vector: 0.3 };

if (values.tune) {
  const tuning = queries.filter((q) => q.set === 'tuning');
  console.log(`grid on ${tuning.length} tuning rows (MRR, R@1, AUROC):`);
  const results: { w: Partial<RetrievalWeights>; mrr: number; r1: number; auroc: number }[] = [];
  for (const title of [1, 2, 3])
    for (const questions of [1, 2, 3])
      for (const grams of [0.2, 0.3, 0.5])
        for (const coverage of [0, 0.3, 0.6]) {
          const w = { title, questions, text: 1, grams, coverage };
          const outcomes = await measure({ label: '', features: DEFAULT_FEATURES, weights: w }, tuning);
          const fig = figures(outcomes, 'tuning');
          results.push({ w, mrr: fig.mrr, r1: fig.r1, auroc: fig.auroc });
        }
  results.sort((a, b) => b.mrr - a.mrr || b.auroc - a.auroc);
  for (const r of results.slice(0, 10))
    console.log(`${JSON.stringify(r.w)}  ${f3(r.mrr)} ${f3(r.r1)} ${f3(r.auroc)}`);
  process.exit(0);
}

// Speed of the shipped configuration.
const shipped = await build({ label: 'shipped', features: DEFAULT_FEATURES });
const builds: number[] = [];
for (let i = 0; i < 5; i++)
  builds.push((await build({ label: 'shipped', features: DEFAULT_FEATURES })).buildMs);
const latencies: number[] = [];
for (const q of queries.slice(0, 50))
  await shipped.retriever.search(q.query, { k: 10, language: q.language }); // warm-up
for (const q of queries) {
  const started = performance.now();
  await shipped.retriever.search(q.query, { k: 10, ...(q.language ? { language: q.language } : {}) });
  latencies.push(performance.now() - started);
}
latencies.sort((a, b) => a - b);
console.log(
  `${chunks.length} chunks; index build ${f3(
    percentile(
      builds.sort((a, b) => a - b),
      0.5,
    ),
  )} ms (median of 5, includes the first jieba load in run 1: ${f3(shipped.buildMs)} ms); ` +
    `query latency over ${queries.length} queries p50 ${f3(percentile(latencies, 0.5))} ms p99 ${f3(percentile(latencies, 0.99))} ms (CPU, one at a time)`,
);
const counts = (set: string) => {
  const rows = queries.filter((q) => q.set === set);
  return `${set}: ${rows.filter((q) => q.answerable !== false).length} answerable + ${rows.filter((q) => q.answerable === false).length} unanswerable`;
};
console.log(
  `${queries.length} labelled queries (${counts('tuning')}; ${counts('held-out')}); synonyms: ${synonyms.size} groups from ${values.config}\n`,
);

console.log('Cumulative: each part added to the one above');
console.log(header);
const steps: Variant[] = [
  {
    label: 'before: ICU+bigrams, title+text, hashed vectors',
    features: BASELINE,
    weights: EQUAL_WEIGHTS,
    synonyms: false,
  },
  { label: '+ jieba words', features: { ...BASELINE, jieba: true }, weights: EQUAL_WEIGHTS, synonyms: false },
  {
    label: '+ Also asked: questions field',
    features: { ...BASELINE, jieba: true, alternatives: true },
    weights: EQUAL_WEIGHTS,
    synonyms: false,
  },
  {
    label: '+ tuned field weights',
    features: { ...BASELINE, jieba: true, alternatives: true },
    synonyms: false,
  },
  {
    label: '+ character n-grams',
    features: { ...BASELINE, jieba: true, alternatives: true, grams: true },
    synonyms: false,
  },
  {
    label: '+ spelling correction',
    features: { ...BASELINE, jieba: true, alternatives: true, grams: true, spelling: true },
    synonyms: false,
  },
  {
    label: '+ synonyms (config)',
    features: { ...BASELINE, jieba: true, alternatives: true, grams: true, spelling: true },
  },
  { label: '+ coverage-scaled score', features: { ...DEFAULT_FEATURES, vectors: true } },
  { label: '- hashed vectors (= shipped)', features: DEFAULT_FEATURES },
];
for (const step of steps) console.log(line(step.label, await measure(step)));

console.log('\nShipped set-up without one part');
console.log(header);
for (const part of ['jieba', 'alternatives', 'grams', 'spelling', 'coverage'] as const) {
  console.log(
    line(
      `shipped - ${part}`,
      await measure({ label: part, features: { ...DEFAULT_FEATURES, [part]: false } }),
    ),
  );
}
console.log(
  line('shipped - synonyms', await measure({ label: 'syn', features: DEFAULT_FEATURES, synonyms: false })),
);
console.log(
  line(
    'shipped + hashed vectors',
    await measure({ label: 'vec', features: { ...DEFAULT_FEATURES, vectors: true } }),
  ),
);
console.log(`\nweights: ${JSON.stringify(DEFAULT_RETRIEVAL_WEIGHTS)}`);
