import { type AnyOrama, create, insertMultiple, search } from '@orama/orama';
import type { KnowledgeChunk, Passage, SearchOptions } from '../../../types';
import { HubError } from '../../../types/errors';
import { createBilingualTokenizer } from '../../bilingual-tokenizer';
import { type Embedder, embeddingText } from '../../embedder';
import { DEFAULT_FUSION, type FusionWeights, fuseScores, type ScoredId } from '../../fusion';
import { HashEmbedder } from '../../hash-embedder';
import type { KnowledgeIndex } from '../../knowledge-index';
import { baseLanguage, detectLanguage } from '../../language';

export interface EmbeddedRetrieverOptions {
  /** Default: `HashEmbedder` with 512 dimensions (offline, deterministic). */
  embedder?: Embedder;
  fusion?: FusionWeights;
  /** Hits taken from each of BM25 and vector search before fusing. */
  candidates?: number;
}

/** Tenant value of chunks that every tenant may see (an Orama enum cannot hold undefined). */
const SHARED = '*';
/** Cosine below this is noise between unrelated texts; it keeps the vector list short. */
const MIN_COSINE = 0.01;

interface Entry {
  chunk: KnowledgeChunk;
  vector: number[];
}

/** Index and entries swapped together, so a search sees one consistent generation. */
interface Generation {
  db: AnyOrama;
  entries: Map<string, Entry>;
}

/**
 * In-process hybrid retriever: one Orama index for both languages (bilingual tokenizer, BM25) plus
 * a dense vector per chunk, fused by `fuseScores`. One index measured better than one per language
 * with Orama's own tokenizers (test/unit/rag-measure.ts), and a single index keeps the language
 * fallback a filter change rather than a second engine.
 */
export class EmbeddedRetriever implements KnowledgeIndex {
  readonly name = 'embedded';
  private readonly embedder: Embedder;
  private readonly fusion: FusionWeights;
  private readonly candidates: number;
  private current: Generation;
  /** Index updates run one at a time; each builds on the previous one's result. */
  private updates: Promise<void> = Promise.resolve();

  constructor(options: EmbeddedRetrieverOptions = {}) {
    this.embedder = options.embedder ?? new HashEmbedder(512);
    this.fusion = options.fusion ?? DEFAULT_FUSION;
    this.candidates = options.candidates ?? 50;
    this.current = { db: this.emptyIndex(), entries: new Map() };
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
   * fewer than `k` hits. Tenant: chunks of that tenant plus shared ones; without a tenant, shared only.
   */
  async search(query: string, options: SearchOptions = {}): Promise<Passage[]> {
    const k = options.k ?? 4;
    const { db, entries } = this.current;
    if (!query.trim() || k <= 0 || entries.size === 0) return [];
    const language = options.language ? baseLanguage(options.language) : detectLanguage(query);
    const tenants = options.tenant ? [options.tenant, SHARED] : [SHARED];
    const vector = (await this.embedder.embed([query], 'query'))[0] ?? [];
    const tags = options.tags?.length ? { tags: { containsAny: options.tags } } : {};
    const preferred = await this.fused(db, query, vector, {
      language: { eq: language },
      tenant: { in: tenants },
      ...tags,
    });
    let hits = preferred.slice(0, k);
    if (hits.length < k) {
      const others = await this.fused(db, query, vector, {
        language: { nin: [language] },
        tenant: { in: tenants },
        ...tags,
      });
      hits = hits.concat(others.slice(0, k - hits.length));
    }
    return hits.flatMap(({ id, score }) => {
      const entry = entries.get(id);
      return entry ? [{ ...entry.chunk, score }] : [];
    });
  }

  private async fused(db: AnyOrama, term: string, vector: number[], where: object): Promise<ScoredId[]> {
    const limit = this.candidates;
    const [text, dense] = await Promise.all([
      search(db, { term, properties: ['title', 'text'], where, limit }),
      search(db, {
        mode: 'vector',
        vector: { value: vector, property: 'embedding' },
        similarity: MIN_COSINE,
        where,
        limit,
      }),
    ]);
    const ids = (hits: { id: string; score: number }[]) => hits.map(({ id, score }) => ({ id, score }));
    return fuseScores(ids(text.hits), ids(dense.hits), this.fusion);
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
        next.set(chunk.id, { chunk, vector: known.vector });
        return false;
      }
      return true;
    });
    const vectors = await this.embedder.embed(toEmbed.map(embeddingText));
    if (vectors.length !== toEmbed.length) {
      throw new HubError(
        'rag.embedder',
        `${this.embedder.name} returned ${vectors.length} vectors for ${toEmbed.length} texts`,
      );
    }
    for (const [i, chunk] of toEmbed.entries()) next.set(chunk.id, { chunk, vector: vectors[i] ?? [] });
    const db = this.emptyIndex();
    await insertMultiple(
      db,
      [...next.values()].map(({ chunk, vector }) => ({
        id: chunk.id,
        title: chunk.title,
        text: chunk.text,
        language: chunk.language,
        tenant: chunk.tenant ?? SHARED,
        tags: chunk.tags,
        embedding: [...vector],
      })),
    );
    this.current = { db, entries: next };
  }

  private emptyIndex(): AnyOrama {
    return create({
      schema: {
        id: 'string',
        title: 'string',
        text: 'string',
        language: 'enum',
        tenant: 'enum',
        tags: 'enum[]',
        embedding: `vector[${this.embedder.dimensions}]`,
      },
      components: { tokenizer: createBilingualTokenizer() },
    }) as AnyOrama;
  }
}
