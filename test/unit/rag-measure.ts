/**
 * Measures the retrieval choices behind core/rag/retrievers/embedded/retriever.ts on the demo knowledge base:
 * BM25 tokenizers (Orama mandarin, one index per language, the bilingual tokenizer with and without
 * bigrams and exact-term matching), the hashed vector alone, and three ways of fusing the two.
 * Run: npx tsx test/unit/rag-measure.ts
 */
import { type AnyOrama, type AnySchema, create, insertMultiple, search, type Tokenizer } from '@orama/orama';
import { createTokenizer as mandarinTokenizer } from '@orama/tokenizers/mandarin';
import { createBilingualTokenizer } from '../../core/rag/bilingual-tokenizer';
import { fuseScores } from '../../core/rag/fusion';
import { HashEmbedder } from '../../core/rag/hash-embedder';
import { loadKnowledge } from '../../core/rag/load';
import { EmbeddedRetriever } from '../../core/rag/retrievers/embedded';
import type { KnowledgeChunk } from '../../core/types';
import { EVAL_QUESTIONS, type EvalQuestion, OFF_TOPIC } from './rag-questions';

type Ranked = { id: string; score: number }[];
type Searcher = (q: EvalQuestion) => Promise<Ranked>;

const chunks = await loadKnowledge('knowledge');
const anchorOf = (id: string) => id.split('#')[1]?.split('~')[0];

const prefixTerms = (bigrams = true) => createBilingualTokenizer({ bigrams, wholeTerms: false });

async function textIndex(
  docs: KnowledgeChunk[],
  tokenizer: Tokenizer | object,
  dims = 0,
  embedder?: HashEmbedder,
) {
  const schema = {
    id: 'string',
    title: 'string',
    text: 'string',
    language: 'enum',
    ...(dims ? { embedding: `vector[${dims}]` } : {}),
  } as const;
  const db = create({
    schema: schema as AnySchema,
    components: { tokenizer: tokenizer as Tokenizer },
  }) as AnyOrama;
  const vectors = embedder ? await embedder.embed(docs.map((c) => `${c.title}\n${c.text}`)) : [];
  await insertMultiple(
    db,
    docs.map((c, i) => ({
      id: c.id,
      title: c.title,
      text: c.text,
      language: c.language,
      ...(dims ? { embedding: vectors[i] } : {}),
    })),
  );
  return db;
}

async function bm25(db: AnyOrama, term: string, language?: string, titleBoost = 1): Promise<Ranked> {
  const r = await search(db, {
    term,
    properties: ['title', 'text'],
    limit: 50,
    boost: { title: titleBoost },
    ...(language ? { where: { language: { eq: language } } } : {}),
  });
  return r.hits.map((h) => ({ id: h.id, score: h.score }));
}

async function vec(db: AnyOrama, vector: number[], language?: string): Promise<Ranked> {
  const r = await search(db, {
    mode: 'vector',
    vector: { value: vector, property: 'embedding' },
    similarity: 0.01,
    limit: 50,
    ...(language ? { where: { language: { eq: language } } } : {}),
  });
  return r.hits.map((h) => ({ id: h.id, score: h.score }));
}

function rrf(lists: Ranked[], k = 60): Ranked {
  const scores = new Map<string, number>();
  for (const list of lists) {
    for (const [rank, hit] of list.entries())
      scores.set(hit.id, (scores.get(hit.id) ?? 0) + 1 / (k + rank + 1));
  }
  return [...scores].map(([id, score]) => ({ id, score })).sort((a, b) => b.score - a.score);
}

/** Absolute fusion as in core/rag/fusion.ts: cosine plus BM25 squashed to [0, 1). */
const convex = (text: Ranked, vector: Ranked, half: number, wText = 0.5) =>
  fuseScores(text, vector, { textWeight: wText, bm25Half: half });

async function evaluate(name: string, searcher: Searcher) {
  const stats = { en: { n: 0, h1: 0, h3: 0, rr: 0 }, zh: { n: 0, h1: 0, h3: 0, rr: 0 } };
  const misses: string[] = [];
  for (const q of EVAL_QUESTIONS) {
    const ranked = (await searcher(q)).slice(0, 10);
    const rank = ranked.findIndex((h) => anchorOf(h.id) === q.expected);
    const s = stats[q.language];
    s.n++;
    if (rank === 0) s.h1++;
    if (rank >= 0 && rank < 3) s.h3++;
    if (rank >= 0) s.rr += 1 / (rank + 1);
    if (rank !== 0)
      misses.push(
        `${q.question} → ${ranked[0] ? anchorOf(ranked[0].id) : '-'} (want ${q.expected}, rank ${rank + 1 || '>10'})`,
      );
  }
  const pct = (x: number, n: number) => `${((100 * x) / n).toFixed(0)}%`.padStart(4);
  const all = {
    n: stats.en.n + stats.zh.n,
    h1: stats.en.h1 + stats.zh.h1,
    h3: stats.en.h3 + stats.zh.h3,
    rr: stats.en.rr + stats.zh.rr,
  };
  console.log(
    `${name.padEnd(46)} en@1 ${pct(stats.en.h1, stats.en.n)} en@3 ${pct(stats.en.h3, stats.en.n)} | zh@1 ${pct(stats.zh.h1, stats.zh.n)} zh@3 ${pct(stats.zh.h3, stats.zh.n)} | all@1 ${pct(all.h1, all.n)} all@3 ${pct(all.h3, all.n)} MRR ${(all.rr / all.n).toFixed(3)}`,
  );
  if (process.env.MISSES) for (const m of misses) console.log(`    ${m}`);
}

const embedder = new HashEmbedder(384);
const dims = embedder.dimensions;
const en = chunks.filter((c) => c.language === 'en');
const zhDocs = chunks.filter((c) => c.language === 'zh');

const mandarin = await textIndex(chunks, mandarinTokenizer());
const perLangEn = await textIndex(en, { language: 'english', stemming: true });
const perLangZh = await textIndex(zhDocs, mandarinTokenizer());
const biNoBigram = await textIndex(chunks, prefixTerms(false));
const bi = await textIndex(chunks, prefixTerms(), dims, embedder);
const biExact = await textIndex(chunks, createBilingualTokenizer(), dims, embedder);

console.log(
  `${chunks.length} chunks, ${EVAL_QUESTIONS.length} questions\n-- BM25 only (language filter = question language)`,
);
await evaluate('mandarin tokenizer, one index', (q) => bm25(mandarin, q.question, q.language));
await evaluate('mandarin tokenizer, one index, no filter', (q) => bm25(mandarin, q.question));
await evaluate('per language: english+stem / mandarin', (q) =>
  bm25(q.language === 'en' ? perLangEn : perLangZh, q.question),
);
await evaluate('bilingual, no bigrams', (q) => bm25(biNoBigram, q.question, q.language));
await evaluate('bilingual + bigrams', (q) => bm25(bi, q.question, q.language));
await evaluate('bilingual + bigrams, no filter', (q) => bm25(bi, q.question));
await evaluate('bilingual + bigrams, exact terms', (q) => bm25(biExact, q.question, q.language));
await evaluate('bilingual + bigrams, exact terms, title x2', (q) => bm25(biExact, q.question, q.language, 2));

console.log('-- hashed vector only');
for (const d of [128, 256, 384, 512, 1024]) {
  const e = new HashEmbedder(d);
  const db = await textIndex(chunks, createBilingualTokenizer(), d, e);
  await evaluate(`hash embedder ${d} dims`, async (q) => vec(db, e.embedOne(q.question), q.language));
}

console.log('-- hybrid (bilingual + bigrams, exact terms; hash 384)');
const both = async (q: EvalQuestion, boost = 1) =>
  [
    await bm25(biExact, q.question, q.language, boost),
    await vec(biExact, embedder.embedOne(q.question), q.language),
  ] as const;
await evaluate('Orama hybrid mode (max-normalised 0.5/0.5)', async (q) => {
  const r = await search(biExact, {
    mode: 'hybrid',
    term: q.question,
    vector: { value: embedder.embedOne(q.question), property: 'embedding' },
    similarity: 0.01,
    properties: ['title', 'text'],
    limit: 10,
    where: { language: { eq: q.language } },
  });
  return r.hits.map((h) => ({ id: h.id, score: h.score }));
});
await evaluate('RRF k=60', async (q) => rrf([...(await both(q))]));
await evaluate('RRF k=60, title x2', async (q) => rrf([...(await both(q, 2))]));
for (const half of [5, 10, 20]) {
  for (const w of [0.3, 0.5, 0.7])
    await evaluate(`convex half=${half} wText=${w}`, async (q) => {
      const [t, v] = await both(q);
      return convex(t, v, half, w);
    });
}

console.log('-- hybrid with a second vector of the heading alone (FAQ headings are questions)');
for (const d of [384, 512, 1024]) {
  const e = new HashEmbedder(d);
  const schema = {
    id: 'string',
    title: 'string',
    text: 'string',
    language: 'enum',
    embedding: `vector[${d}]`,
    titleEmbedding: `vector[${d}]`,
  } as const;
  const db = create({
    schema: schema as AnySchema,
    components: { tokenizer: createBilingualTokenizer() },
  }) as AnyOrama;
  const bodies = await e.embed(chunks.map((c) => `${c.title}\n${c.text}`));
  const titles = await e.embed(chunks.map((c) => c.title));
  await insertMultiple(
    db,
    chunks.map((c, i) => ({
      id: c.id,
      title: c.title,
      text: c.text,
      language: c.language,
      embedding: bodies[i],
      titleEmbedding: titles[i],
    })),
  );
  const lists = async (q: EvalQuestion) => {
    const v = e.embedOne(q.question);
    const t = await bm25(db, q.question, q.language);
    const body = await vec(db, v, q.language);
    const r = await search(db, {
      mode: 'vector',
      vector: { value: v, property: 'titleEmbedding' },
      similarity: 0.01,
      limit: 50,
      where: { language: { eq: q.language } },
    });
    return { t, body, title: r.hits.map((h) => ({ id: h.id, score: h.score })) };
  };
  await evaluate(`${d}: RRF bm25 + body vector`, async (q) => {
    const l = await lists(q);
    return rrf([l.t, l.body]);
  });
  await evaluate(`${d}: RRF bm25 + body + heading vectors`, async (q) => {
    const l = await lists(q);
    return rrf([l.t, l.body, l.title]);
  });
  await evaluate(`${d}: convex h10 w0.7 bm25 + body`, async (q) => {
    const l = await lists(q);
    return convex(l.t, l.body, 10, 0.7);
  });
  await evaluate(`${d}: convex h10 w0.5 bm25 + max(body, heading)`, async (q) => {
    const l = await lists(q);
    const best = new Map(l.body.map((h) => [h.id, h.score]));
    for (const h of l.title) best.set(h.id, Math.max(best.get(h.id) ?? 0, h.score));
    return convex(
      l.t,
      [...best].map(([id, score]) => ({ id, score })),
      10,
      0.5,
    );
  });
  await evaluate(`${d}: convex h10 w0.5 bm25 + mean(body, heading)`, async (q) => {
    const l = await lists(q);
    const sum = new Map<string, number>();
    for (const h of [...l.body, ...l.title]) sum.set(h.id, (sum.get(h.id) ?? 0) + h.score / 2);
    return convex(
      l.t,
      [...sum].map(([id, score]) => ({ id, score })),
      10,
      0.5,
    );
  });
}

console.log('-- as shipped: EmbeddedRetriever defaults (hash 512, convex half=10 wText=0.7)');
const shipped = new EmbeddedRetriever();
await shipped.index(chunks);
await evaluate('EmbeddedRetriever', async (q) => shipped.search(q.question, { language: q.language, k: 10 }));

console.log('-- top-1 score of the shipped retriever, in-domain vs off-topic');
const topScore = async (question: string, language: string) =>
  (await shipped.search(question, { language, k: 1 }))[0]?.score ?? 0;
const inScores = await Promise.all(EVAL_QUESTIONS.map((q) => topScore(q.question, q.language)));
const offScores = await Promise.all(OFF_TOPIC.map((q) => topScore(q.question, q.language)));
const summary = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const at = (i: number) => (s[i] ?? 0).toFixed(3);
  return `min ${at(0)} p10 ${at(Math.floor(s.length * 0.1))} median ${at(Math.floor(s.length / 2))} max ${at(s.length - 1)}`;
};
console.log(`in-domain ${summary(inScores)}\noff-topic ${summary(offScores)}`);
for (const t of [0.14, 0.16, 0.17, 0.18, 0.19, 0.2, 0.22, 0.24]) {
  const refused = inScores.filter((s) => s < t).length;
  const answered = offScores.filter((s) => s >= t).length;
  console.log(
    `threshold ${t.toFixed(2)}: in-domain refused ${refused}/${inScores.length}, off-topic answered ${answered}/${offScores.length}`,
  );
}
if (process.env.OFF) {
  for (const [i, q] of OFF_TOPIC.entries()) console.log(`  off ${offScores[i]?.toFixed(3)} ${q.question}`);
  for (const [i, q] of EVAL_QUESTIONS.entries())
    if ((inScores[i] ?? 0) < 0.22) console.log(`  in  ${inScores[i]?.toFixed(3)} ${q.question}`);
}
