import { Client, errors } from '@elastic/elasticsearch';
import { backoffDelay } from '../../../resilience/backoff';
import { sleep } from '../../../resilience/sleep';
import type { KnowledgeChunk, Passage, SearchOptions } from '../../../types';
import { HubError } from '../../../types/errors';
import { type Embedder, embeddingText } from '../../embedder';
import type { KnowledgeIndex } from '../../knowledge-index';
import { baseLanguage, detectLanguage } from '../../language';
import type { ModeDecision } from './cluster';
import { type SourceDoc, sourceOf } from './documents';
import { HybridSearch } from './hybrid-search';
import { type ChineseAnalyzer, indexTemplate } from './mapping';

/** A bulk retry never waits longer than this, however many retries are configured. */
const MAX_BULK_BACKOFF_MS = 30_000;

export interface ElasticsearchRetrieverOptions {
  client: Client;
  embedder: Embedder;
  alias: string;
  analyzer?: ChineseAnalyzer;
  /** Documents per bulk request (default 500). */
  bulkSize?: number;
  /** Hits per leg before fusion (default 50). */
  candidates?: number;
  /** Retries of documents refused with 429 (default 3), and the first wait in ms (default 200, doubling). */
  bulkRetries?: number;
  bulkBackoffMs?: number;
  /** How often the cluster's licence is read again to choose the hybrid mode (default 10 minutes). */
  licenceRecheckMs?: number;
}

/** A document Elasticsearch refused, with its reason. */
export interface BulkFailure {
  id: string;
  status: number;
  type: string;
  reason: string;
}

/**
 * Hybrid retriever on Elasticsearch. Queries go to `alias`; `replaceAll` builds a new index
 * `<alias>-<stamp>` from the template, fills it, refreshes it and swaps the alias in one atomic
 * `_aliases` call, so a query sees the old index or the new one, never a half-built one.
 * `index`/`remove` change the live index in place (one document at a time is always consistent).
 */
export class ElasticsearchRetriever implements KnowledgeIndex {
  readonly name = 'elasticsearch';
  private readonly client: Client;
  private readonly embedder: Embedder;
  private readonly alias: string;
  private readonly analyzer: ChineseAnalyzer;
  private readonly bulkSize: number;
  private readonly candidates: number;
  private readonly bulkRetries: number;
  private readonly bulkBackoffMs: number;
  private readonly hybrid: HybridSearch;

  constructor(options: ElasticsearchRetrieverOptions) {
    this.client = options.client;
    this.embedder = options.embedder;
    this.alias = options.alias;
    this.analyzer = options.analyzer ?? 'smartcn';
    this.bulkSize = options.bulkSize ?? 500;
    this.candidates = options.candidates ?? 50;
    this.bulkRetries = options.bulkRetries ?? 3;
    this.bulkBackoffMs = options.bulkBackoffMs ?? 200;
    this.hybrid = new HybridSearch({
      client: this.client,
      alias: this.alias,
      recheckMs: options.licenceRecheckMs,
    });
    // Chosen and logged at start rather than on a customer's first question. A cluster that does
    // not answer yet is asked again by the first query, which then reports the failure.
    void this.hybrid.detect().catch(() => undefined);
  }

  /** How hybrid queries are fused now (`rrf` in the cluster, `msearch` in the hub) and why; undefined before the first query. */
  get hybridMode(): Pick<ModeDecision, 'mode' | 'reason'> | undefined {
    return this.hybrid.mode;
  }

  /** Read the cluster's licence and version now and choose the hybrid mode (the first query does it otherwise). */
  async detectHybridMode(): Promise<Pick<ModeDecision, 'mode' | 'reason'>> {
    const { mode, reason } = await this.hybrid.detect();
    return { mode, reason };
  }

  /** Create or update the index template (idempotent). */
  async ensureTemplate(): Promise<void> {
    await this.client.indices.putIndexTemplate(
      indexTemplate(this.alias, this.embedder.dimensions, this.analyzer),
    );
  }

  /** Indices the alias points at now; none before the first `replaceAll`. */
  async liveIndices(): Promise<string[]> {
    try {
      return Object.keys(await this.client.indices.getAlias({ name: this.alias }));
    } catch (error) {
      if (error instanceof errors.ResponseError && error.statusCode === 404) return [];
      throw error;
    }
  }

  async isBuilt(): Promise<boolean> {
    return (await this.liveIndices()).length > 0;
  }

  async replaceAll(chunks: KnowledgeChunk[]): Promise<void> {
    await this.ensureTemplate();
    const stamp = `${new Date()
      .toISOString()
      .replace(/[-:.TZ]/g, '')
      .toLowerCase()}-${Math.random().toString(36).slice(2, 6)}`;
    const next = `${this.alias}-${stamp}`;
    await this.client.indices.create({ index: next });
    try {
      await this.bulkIndex(next, chunks);
      await this.client.indices.refresh({ index: next });
    } catch (error) {
      await this.client.indices.delete({ index: next }).catch(() => undefined);
      throw error;
    }
    const old = await this.liveIndices();
    await this.client.indices.updateAliases({
      actions: [
        ...old.map((index) => ({ remove: { index, alias: this.alias } })),
        { add: { index: next, alias: this.alias } },
      ],
    });
    if (old.length > 0) await this.client.indices.delete({ index: old });
  }

  async index(chunks: KnowledgeChunk[]): Promise<void> {
    if ((await this.liveIndices()).length === 0) return this.replaceAll(chunks);
    await this.bulkIndex(this.alias, chunks);
    await this.client.indices.refresh({ index: this.alias });
  }

  async remove(ids: string[]): Promise<void> {
    if (ids.length === 0 || (await this.liveIndices()).length === 0) return;
    for (let start = 0; start < ids.length; start += this.bulkSize) {
      const batch = ids.slice(start, start + this.bulkSize);
      const failures = await this.bulkWithRetry(
        batch.map((id) => ({ id, operation: [{ delete: { _index: this.alias, _id: id } }] })),
      );
      // A 404 on delete means it is already gone: the state we wanted.
      const real = failures.filter((f) => f.status !== 404);
      if (real.length > 0) throw bulkError(real, batch.length);
    }
    await this.client.indices.refresh({ index: this.alias });
  }

  async count(): Promise<number> {
    try {
      return (await this.client.count({ index: this.alias })).count;
    } catch (error) {
      if (error instanceof errors.ResponseError && error.statusCode === 404) return 0;
      throw error;
    }
  }

  /**
   * Same contract as the embedded retriever: passages in the asked (or detected) language first,
   * others only to fill up to k; a tenant sees its own and shared chunks, no tenant shared only.
   */
  async search(query: string, options: SearchOptions = {}): Promise<Passage[]> {
    const k = options.k ?? 4;
    if (!query.trim() || k <= 0) return [];
    const language = options.language ? baseLanguage(options.language) : detectLanguage(query);
    const [vector = []] = await this.embedder.embed([query], 'query');
    // Cosine is undefined for a zero vector and Elasticsearch rejects it; the hashed embedder gives one
    // only for text with nothing but stop words, which has nothing to retrieve either.
    if (!vector.some((x) => x !== 0)) return [];
    const common = {
      query,
      vector,
      k,
      candidates: Math.max(this.candidates, k),
      tenant: options.tenant,
      tags: options.tags,
      language,
    };
    let hits = await this.hybrid.search(common);
    if (hits.length < k) {
      const others = await this.hybrid.search({ ...common, k: k - hits.length, excludeLanguage: true });
      hits = hits.concat(others);
    }
    return hits;
  }

  async close(): Promise<void> {
    await this.client.close();
  }

  /**
   * Batches of `bulkSize`: each is embedded, sent, and answered before the next is read, so memory
   * and the cluster's queue stay bounded (backpressure). Documents refused with 429 are retried;
   * any other refusal is collected and reported per document once the rest are in.
   */
  private async bulkIndex(index: string, chunks: KnowledgeChunk[]): Promise<void> {
    const failures: BulkFailure[] = [];
    for (let start = 0; start < chunks.length; start += this.bulkSize) {
      const batch = chunks.slice(start, start + this.bulkSize);
      const vectors = await this.embedder.embed(batch.map(embeddingText));
      failures.push(
        ...(await this.bulkWithRetry(
          batch.map((chunk, i) => ({
            id: chunk.id,
            operation: [
              { index: { _index: index, _id: chunk.id } },
              withEmbedding(sourceOf(chunk), vectors[i]),
            ],
          })),
        )),
      );
    }
    if (failures.length > 0) throw bulkError(failures, chunks.length);
  }

  private async bulkWithRetry(items: Array<{ id: string; operation: object[] }>): Promise<BulkFailure[]> {
    let pending = items;
    const failures: BulkFailure[] = [];
    for (let attempt = 0; pending.length > 0; attempt++) {
      const response = await this.client.bulk({ operations: pending.flatMap((item) => item.operation) });
      const retry: typeof pending = [];
      response.items.forEach((result, i) => {
        const outcome = Object.values(result)[0];
        const item = pending[i];
        if (!outcome?.error || !item) return;
        if (outcome.status === 429 && attempt < this.bulkRetries) retry.push(item);
        else
          failures.push({
            id: item.id,
            status: outcome.status,
            type: outcome.error.type,
            reason: outcome.error.reason ?? '',
          });
      });
      pending = retry;
      if (pending.length > 0)
        await sleep(backoffDelay({ baseMs: this.bulkBackoffMs, maxMs: MAX_BULK_BACKOFF_MS }, attempt + 1));
    }
    return failures;
  }
}

export class BulkIndexError extends HubError {
  constructor(
    readonly failures: BulkFailure[],
    total: number,
  ) {
    const listed = failures.slice(0, 5).map((f) => `${f.id}: ${f.status} ${f.type} ${f.reason}`);
    super(
      'rag.elasticsearch_bulk',
      `Elasticsearch refused ${failures.length} of ${total} document(s): ${listed.join('; ')}${failures.length > 5 ? '; ...' : ''}`,
    );
  }
}

function bulkError(failures: BulkFailure[], total: number): BulkIndexError {
  return new BulkIndexError(failures, total);
}

/** A zero vector (a chunk of stop words) is left out: the chunk stays findable by BM25. */
function withEmbedding(doc: SourceDoc, vector: number[] | undefined): SourceDoc {
  return vector?.some((x) => x !== 0) ? { ...doc, embedding: vector } : doc;
}

/** A client from `knowledge.elasticsearch`; credentials only from config (which takes them from env). */
export function createElasticsearchClient(config: {
  url: string;
  apiKey?: string;
  username?: string;
  password?: string;
}): Client {
  return new Client({
    node: config.url,
    ...(config.apiKey
      ? { auth: { apiKey: config.apiKey } }
      : config.username
        ? { auth: { username: config.username, password: config.password ?? '' } }
        : {}),
    requestTimeout: 30_000,
    maxRetries: 3,
  });
}
