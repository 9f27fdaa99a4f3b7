import { type AnyOrama, create, insertMultiple, search } from '@orama/orama';
import type { KnowledgeChunk, Passage, SearchOptions } from '../../../types';
import { HubError } from '../../../types/errors';
import { bilingualTerms, createBilingualTokenizer, gramText } from '../../bilingual-tokenizer';
import { type Embedder, embeddingText } from '../../embedder';
import { HashEmbedder } from '../../hash-embedder';
import type { KnowledgeIndex } from '../../knowledge-index';
import { baseLanguage, detectLanguage } from '../../language';
import { SpellingVocabulary } from '../../spelling';

/** What the embedded retriever does; each part can be switched off to measure it (bench/retrieval.ts). */
export interface RetrievalFeatures {
  /** jieba's words next to ICU's for Chinese. */
  jieba: boolean;
  /** The entry's `Also asked:` questions, searched as a field of their own. */
  alternatives: boolean;
  /** Character n-grams (English 3-grams, Chinese characters) as a field of their own. */
  grams: boolean;
  /** Misspelt English query words corrected to words of the knowledge base. */
  spelling: boolean;
  /** Scale the score by the share of the question's terms (IDF-weighted) that the passage holds. */
  coverage: boolean;
  /** Dense vectors from the embedder, fused with the text score. */
  vectors: boolean;
}

/** BM25 boosts per field and the fusion of the scores; see DEFAULT_RETRIEVAL_WEIGHTS. */
export interface RetrievalWeights {
  title: number;
  questions: number;
  text: number;
  /** Share of the n-gram score in the fused score (the words get 1 - grams - vector). */
  grams: number;
  /** Share of the cosine in the fused score, when vectors are on. */
  vector: number;
  /**
   * BM25 (boosted sum over the word fields) that maps to 0.5 after saturation, in units of the IDF
   * of a term only one entry holds: BM25 grows with the log of the base's size, so the same question
   * scores alike on a 6-entry base and a 100-entry one, and one threshold means the same on both.
   */
  wordHalf: number;
  /** The same for the n-gram field. */
  gramHalf: number;
  /** How much coverage scales the score: score × (1 − c + c × coverage); 0 leaves it alone. */
  coverage: number;
}

/**
 * Lexical by default: no sentence-embedding model runs offline here, and the hashed vectors added
 * nothing measurable once the question fields, jieba and n-grams were in (bench/retrieval.ts).
 */
export const DEFAULT_FEATURES: RetrievalFeatures = {
  jieba: true,
  alternatives: true,
  grams: true,
  spelling: true,
  coverage: true,
  vectors: false,
};

/** Tuned on the tuning half of knowledge/eval/labelled.jsonl (bench/retrieval.ts --tune). */
export const DEFAULT_RETRIEVAL_WEIGHTS: RetrievalWeights = {
  title: 1,
  questions: 2,
  text: 1,
  grams: 0.3,
  vector: 0.3,
  wordHalf: 2.3,
  gramHalf: 2.3,
  coverage: 0.3,
};

export interface EmbeddedRetrieverOptions {
  /** Used when `features.vectors` is on; default `HashEmbedder` with 512 dimensions (offline). */
  embedder?: Embedder;
  features?: Partial<RetrievalFeatures>;
  weights?: Partial<RetrievalWeights>;
  /** Hits taken from each field search before fusing. */
  candidates?: number;
}

/** Tenant value of chunks that every tenant may see (an Orama enum cannot hold undefined). */
const SHARED = '*';
/** Cosine below this is noise between unrelated texts; it keeps the vector list short. */
const MIN_COSINE = 0.01;

interface Entry {
  chunk: KnowledgeChunk;
  vector: number[];
  /** Every word term of title, questions and text: what `coverage` checks a question against. */
  terms: Set<string>;
}

/** Index, entries and statistics swapped together, so a search sees one consistent generation. */
interface Generation {
  db: AnyOrama;
  entries: Map<string, Entry>;
  /** Entries holding each term. */
  df: Map<string, number>;
  spelling: SpellingVocabulary;
}

/**
 * What one tenant searches: the shared entries plus its own, in an index of their own. Scores and
 * their statistics (BM25's document counts and lengths, the coverage IDF, the spelling vocabulary)
 * then depend only on what that tenant can see, so adding one tenant's knowledge never moves
 * another tenant's scores across its calibrated threshold.
 */
interface Scopes {
  /** Every entry, by id. */
  entries: Map<string, Entry>;
  /** By tenant; `SHARED` holds the shared entries alone (a tenant without entries of its own). */
  byTenant: Map<string, Generation>;
}

interface ScoredId {
  id: string;
  score: number;
}

/**
 * In-process retriever: one Orama index for both languages (bilingual tokenizer: ICU + jieba words,
 * Chinese bigrams), BM25 over the entry's question (heading), its alternative questions and its
 * text, each with its own boost, plus a character n-gram field for misspellings and colloquial
 * Chinese; misspelt English words are corrected against the knowledge base's own words first. The
 * score is absolute in [0, 1): saturated BM25, scaled by how much of the question the passage
 * covers, so that one threshold can tell "the knowledge base knows this" from "it does not".
 */
export class EmbeddedRetriever implements KnowledgeIndex {
  readonly name = 'embedded';
  private readonly embedder: Embedder;
  private readonly features: RetrievalFeatures;
  private readonly weights: RetrievalWeights;
  private readonly candidates: number;
  private current: Scopes;
  /** Index updates run one at a time; each builds on the previous one's result. */
  private updates: Promise<void> = Promise.resolve();

  constructor(options: EmbeddedRetrieverOptions = {}) {
    this.features = { ...DEFAULT_FEATURES, ...options.features };
    this.weights = { ...DEFAULT_RETRIEVAL_WEIGHTS, ...options.weights };
    this.embedder = options.embedder ?? new HashEmbedder(512);
    this.candidates = options.candidates ?? 50;
    this.current = { entries: new Map(), byTenant: new Map() };
  }

  /** Add chunks, replacing those with the same id. */
  index(chunks: KnowledgeChunk[]): Promise<void> {
    return this.serially(() => this.rebuild(chunks, false));
  }

  /** Swap the whole content for `chunks`; searches running meanwhile finish on the old index. */
  replaceAll(chunks: KnowledgeChunk[]): Promise<void> {
    return this.serially(() => this.rebuild(chunks, true));
  }

  /** Remove chunks by id. */
  remove(ids: string[]): Promise<void> {
    const gone = new Set(ids);
    return this.serially(() =>
      this.rebuild(
        [...this.current.entries.values()]
          .filter(({ chunk }) => !gone.has(chunk.id))
          .map(({ chunk }) => chunk),
        true,
      ),
    );
  }

  async close(): Promise<void> {}

  async count(): Promise<number> {
    return this.current.entries.size;
  }

  /**
   * Best `k` passages (default 4), scores in [0, 1) descending. Language: `options.language`, else
   * detected from the query; passages in that language come first, others only fill up when it has
   * fewer than `k` hits. Tenant: chunks of that tenant plus shared ones, scored within that set;
   * without a tenant (or for a tenant with no chunks of its own), shared only.
   */
  async search(query: string, options: SearchOptions = {}): Promise<Passage[]> {
    const k = options.k ?? 4;
    const { byTenant } = this.current;
    const generation = (options.tenant ? byTenant.get(options.tenant) : undefined) ?? byTenant.get(SHARED);
    if (!query.trim() || k <= 0 || !generation || generation.entries.size === 0) return [];
    const language = options.language ? baseLanguage(options.language) : detectLanguage(query);
    const tenants = options.tenant ? [options.tenant, SHARED] : [SHARED];
    const term = this.features.spelling ? generation.spelling.correct(query) : query;
    const vector = this.features.vectors ? ((await this.embedder.embed([term], 'query'))[0] ?? []) : [];
    const tags = options.tags?.length ? { tags: { containsAny: options.tags } } : {};
    const preferred = await this.scored(generation, term, vector, {
      language: { eq: language },
      tenant: { in: tenants },
      ...tags,
    });
    let hits = preferred.slice(0, k);
    if (hits.length < k) {
      const others = await this.scored(generation, term, vector, {
        language: { nin: [language] },
        tenant: { in: tenants },
        ...tags,
      });
      hits = hits.concat(others.slice(0, k - hits.length));
    }
    return hits.flatMap(({ id, score }) => {
      const entry = generation.entries.get(id);
      return entry ? [{ ...entry.chunk, score }] : [];
    });
  }

  private async scored(
    { db, entries, df }: Generation,
    term: string,
    vector: number[],
    where: object,
  ): Promise<ScoredId[]> {
    const { features: f, weights: w } = this;
    const limit = this.candidates;
    const properties = f.alternatives ? ['title', 'questions', 'text'] : ['title', 'text'];
    const boost = { title: w.title, questions: w.questions, text: w.text };
    const [words, grams, dense] = await Promise.all([
      search(db, { term, properties, boost, where, limit }),
      f.grams ? search(db, { term: gramText(term), properties: ['grams'], where, limit }) : undefined,
      f.vectors
        ? search(db, {
            mode: 'vector',
            vector: { value: vector, property: 'embedding' },
            similarity: MIN_COSINE,
            where,
            limit,
          })
        : undefined,
    ]);
    const gramShare = f.grams ? w.grams : 0;
    const vectorShare = f.vectors ? w.vector : 0;
    const wordShare = 1 - gramShare - vectorShare;
    // Orama's IDF of a term held by one of `size` entries (BM25's unit on this base).
    const unit = Math.log(1 + (entries.size - 0.5) / 1.5);
    const scores = new Map<string, number>();
    const add = (id: string, value: number) => scores.set(id, (scores.get(id) ?? 0) + value);
    for (const hit of words.hits) add(hit.id, wordShare * saturate(hit.score, w.wordHalf * unit));
    for (const hit of grams?.hits ?? []) add(hit.id, gramShare * saturate(hit.score, w.gramHalf * unit));
    for (const hit of dense?.hits ?? []) add(hit.id, vectorShare * Math.max(0, hit.score));
    const queryTerms = f.coverage ? this.queryTerms(term) : [];
    const size = entries.size;
    return [...scores]
      .map(([id, score]) => {
        const entry = entries.get(id);
        const covered = f.coverage && entry ? coverage(queryTerms, entry.terms, df, size) : 1;
        return { id, score: score * (1 - w.coverage + w.coverage * covered) };
      })
      .sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1));
  }

  private queryTerms(text: string): string[] {
    return bilingualTerms(text, { jieba: this.features.jieba });
  }

  /** Runs `step` after every update queued before it; a failed update does not stop the next. */
  private serially(step: () => Promise<void>): Promise<void> {
    const run = this.updates.then(step);
    this.updates = run.catch(() => undefined);
    return run;
  }

  /**
   * Orama's vector search nulls the vectors of the documents it returns, so updating documents in
   * place is unsafe; rebuilding is milliseconds for a FAQ-sized base and keeps the index consistent.
   */
  private async rebuild(chunks: KnowledgeChunk[], replace: boolean): Promise<void> {
    const previous = this.current.entries;
    const next = new Map<string, Entry>(replace ? [] : previous);
    const toEmbed = chunks.filter((chunk) => {
      const known = previous.get(chunk.id);
      if (known && known.chunk.title === chunk.title && known.chunk.text === chunk.text) {
        next.set(chunk.id, { ...known, chunk, terms: this.entryTerms(chunk) });
        return false;
      }
      return true;
    });
    const vectors = this.features.vectors
      ? await this.embedder.embed(toEmbed.map(embeddingText))
      : toEmbed.map(() => []);
    if (vectors.length !== toEmbed.length) {
      throw new HubError(
        'rag.embedder',
        `${this.embedder.name} returned ${vectors.length} vectors for ${toEmbed.length} texts`,
      );
    }
    for (const [i, chunk] of toEmbed.entries()) {
      next.set(chunk.id, { chunk, vector: vectors[i] ?? [], terms: this.entryTerms(chunk) });
    }
    const shared = [...next.values()].filter(({ chunk }) => !chunk.tenant);
    const own = new Map<string, Entry[]>();
    for (const entry of next.values()) {
      const tenant = entry.chunk.tenant;
      if (tenant) own.set(tenant, [...(own.get(tenant) ?? []), entry]);
    }
    const byTenant = new Map<string, Generation>([[SHARED, await this.build(shared)]]);
    for (const [tenant, entries] of own) byTenant.set(tenant, await this.build([...shared, ...entries]));
    this.current = { entries: next, byTenant };
  }

  /** One scope's index and statistics over `entries`. */
  private async build(entries: Entry[]): Promise<Generation> {
    const db = this.emptyIndex();
    const dims = this.features.vectors ? this.embedder.dimensions : 0;
    await insertMultiple(
      db,
      entries.map(({ chunk, vector }) => ({
        id: chunk.id,
        title: chunk.title,
        questions: this.features.alternatives ? (chunk.questions ?? []).join('\n') : '',
        text: chunk.text,
        grams: gramText(`${chunk.title}\n${(chunk.questions ?? []).join('\n')}\n${chunk.text}`),
        language: chunk.language,
        tenant: chunk.tenant ?? SHARED,
        tags: chunk.tags,
        ...(dims ? { embedding: vector.length === dims ? [...vector] : new Array(dims).fill(0) } : {}),
      })),
    );
    return this.generation(db, new Map(entries.map((entry) => [entry.chunk.id, entry])));
  }

  private entryTerms(chunk: KnowledgeChunk): Set<string> {
    const questions = this.features.alternatives ? (chunk.questions ?? []) : [];
    return new Set(this.queryTerms(`${chunk.title}\n${questions.join('\n')}\n${chunk.text}`));
  }

  private generation(db: AnyOrama, entries: Map<string, Entry>): Generation {
    const df = new Map<string, number>();
    const texts: string[] = [];
    for (const { chunk, terms } of entries.values()) {
      for (const term of terms) df.set(term, (df.get(term) ?? 0) + 1);
      texts.push(chunk.title, chunk.text, ...(chunk.questions ?? []));
    }
    return { db, entries, df, spelling: new SpellingVocabulary(texts) };
  }

  private emptyIndex(): AnyOrama {
    return create({
      schema: {
        id: 'string',
        title: 'string',
        questions: 'string',
        text: 'string',
        grams: 'string',
        language: 'enum',
        tenant: 'enum',
        tags: 'enum[]',
        ...(this.features.vectors ? { embedding: `vector[${this.embedder.dimensions}]` } : {}),
      },
      components: { tokenizer: createBilingualTokenizer({ jieba: this.features.jieba }) },
    }) as AnyOrama;
  }
}

/** An unbounded BM25 score → [0, 1): `half` maps to 0.5. */
function saturate(score: number, half: number): number {
  return score / (score + half);
}

/**
 * Share of the question's IDF mass whose terms the entry holds. A term the knowledge base never
 * uses weighs the most (it is what the question is about, and nobody answers it): "Do you sell
 * cars?" matches "sell" somewhere, but "car" nowhere, so the best passage covers little of it.
 */
export function coverage(
  queryTerms: string[],
  entryTerms: Set<string>,
  df: Map<string, number>,
  size: number,
): number {
  let total = 0;
  let held = 0;
  for (const term of queryTerms) {
    const idf = Math.log(1 + (size + 1) / ((df.get(term) ?? 0) + 0.5));
    total += idf;
    if (entryTerms.has(term)) held += idf;
  }
  return total === 0 ? 0 : held / total;
}
