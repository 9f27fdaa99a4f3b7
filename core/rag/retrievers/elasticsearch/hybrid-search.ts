import { type Client, errors } from '@elastic/elasticsearch';
import { logger } from '../../../log';
import type { Passage } from '../../../types';
import { HubError } from '../../../types/errors';
import { reciprocalRankFusion } from '../../fusion';
import {
  type ClusterFacts,
  chooseHybridMode,
  detectCluster,
  isLicenceRefusal,
  type ModeDecision,
} from './cluster';
import { chunkOf, type SourceDoc } from './documents';
import { reportHybridMode } from './metrics';
import {
  type HybridQueryInput,
  hybridSearchBody,
  normaliseRrf,
  RANK_CONSTANT,
  splitSearchBodies,
} from './query';

export interface HybridSearchOptions {
  client: Client;
  alias: string;
  /** How long a decision stands before the licence is read again (default 10 minutes), so an upgrade is picked up. */
  recheckMs?: number;
  now?: () => number;
}

/**
 * BM25 + kNN fused by reciprocal rank, on any licence. The cluster's licence and version are read
 * once (then every `recheckMs`): with an active enterprise or trial licence one `_search` with the
 * `rrf` retriever; otherwise both legs in one `_msearch`, fused here with the same rank constant
 * and window, so the ranking and the scores are the same either way. A query refused for its
 * licence (a downgrade, an expiry) reads the licence again and is answered by `_msearch` at once.
 */
export class HybridSearch {
  private readonly client: Client;
  private readonly alias: string;
  private readonly recheckMs: number;
  private readonly now: () => number;
  private decision?: Promise<ModeDecision>;
  private decidedAt = 0;
  private current?: ModeDecision;
  /** The decision a refusal is being re-read for, so concurrent refusals read the licence once. */
  private rereadFor?: ModeDecision;

  constructor(options: HybridSearchOptions) {
    this.client = options.client;
    this.alias = options.alias;
    this.recheckMs = options.recheckMs ?? 10 * 60_000;
    this.now = options.now ?? (() => Date.now());
  }

  /** The mode in use and why; undefined before the first query. */
  get mode(): Omit<ModeDecision, 'facts'> | undefined {
    return this.current && { mode: this.current.mode, reason: this.current.reason };
  }

  /** Read the licence now (the first query does it anyway); returns the decision. */
  async detect(): Promise<ModeDecision> {
    return this.decide();
  }

  async search(input: HybridQueryInput): Promise<Passage[]> {
    const decision = await this.decide();
    if (decision.mode === 'msearch') return this.fuseHere(input);
    try {
      return await this.fuseInCluster(input);
    } catch (error) {
      if (!isLicenceRefusal(error)) throw searchFailed(error);
      await this.refused(decision);
      return this.fuseHere(input);
    }
  }

  private decide(): Promise<ModeDecision> {
    if (!this.decision || this.now() - this.decidedAt >= this.recheckMs) {
      this.decision = this.redetect((facts) => chooseHybridMode(facts));
    }
    return this.decision;
  }

  /** One re-read for any number of queries refused under the same decision. */
  private async refused(under: ModeDecision): Promise<void> {
    if (this.current === under && this.rereadFor !== under) {
      this.rereadFor = under;
      this.decision = this.redetect((facts) => {
        const fresh = chooseHybridMode(facts);
        // The cluster refused rrf whatever its licence reads as: believe the refusal until the next recheck.
        return fresh.mode === 'msearch'
          ? fresh
          : { mode: 'msearch', reason: `the cluster refused the rrf retriever (${fresh.reason})`, facts };
      });
    }
    await this.decision;
  }

  private redetect(choose: (facts: ClusterFacts) => ModeDecision): Promise<ModeDecision> {
    this.decidedAt = this.now();
    const pending = detectCluster(this.client).then(
      (facts) => this.adopt(choose(facts)),
      (error: unknown) => {
        // Not cached: the next query asks again.
        if (this.decision === pending) this.decision = undefined;
        throw searchFailed(error);
      },
    );
    return pending;
  }

  private adopt(decision: ModeDecision): ModeDecision {
    if (decision.mode !== this.current?.mode) {
      const { version, flavor, licence, licenceUnreadable } = decision.facts;
      logger.info(
        { alias: this.alias, mode: decision.mode, version, flavor, licence, licenceUnreadable },
        `Elasticsearch hybrid search: ${decision.mode === 'rrf' ? 'rrf retriever' : '_msearch fused in the hub'}, ${decision.reason}`,
      );
      reportHybridMode(decision.mode);
    }
    this.current = decision;
    return decision;
  }

  private async fuseInCluster(input: HybridQueryInput): Promise<Passage[]> {
    let response: Awaited<ReturnType<Client['search']>>;
    try {
      response = await this.client.search<SourceDoc>({ index: this.alias, ...hybridSearchBody(input) });
    } catch (error) {
      if (error instanceof errors.ResponseError && error.statusCode === 404) return [];
      throw error;
    }
    return response.hits.hits.flatMap((hit) => {
      const doc = hit._source as SourceDoc | undefined;
      return doc ? [{ ...chunkOf(doc), score: normaliseRrf(hit._score ?? 0) }] : [];
    });
  }

  private async fuseHere(input: HybridQueryInput): Promise<Passage[]> {
    const [text, vector] = splitSearchBodies(input);
    let response: Awaited<ReturnType<Client['msearch']>>;
    try {
      response = await this.client.msearch<SourceDoc>({
        index: this.alias,
        searches: [{}, text, {}, vector],
      });
    } catch (error) {
      throw searchFailed(error);
    }
    const docs = new Map<string, SourceDoc>();
    const lists: string[][] = [];
    for (const item of response.responses) {
      if ('error' in item) {
        // No index behind the alias yet: nothing to find, as on the rrf path.
        if (item.status === 404) return [];
        throw new HubError(
          'rag.elasticsearch',
          `Elasticsearch search failed: ${item.status} ${item.error.type}: ${item.error.reason ?? ''}`,
          { retryable: true },
        );
      }
      const ids: string[] = [];
      for (const hit of item.hits.hits) {
        const doc = hit._source as SourceDoc | undefined;
        if (!doc || !hit._id) continue;
        docs.set(hit._id, doc);
        ids.push(hit._id);
      }
      lists.push(ids);
    }
    return reciprocalRankFusion(lists, { rankConstant: RANK_CONSTANT, window: input.candidates })
      .slice(0, input.k)
      .flatMap(({ id, score }) => {
        const doc = docs.get(id);
        return doc ? [{ ...chunkOf(doc), score: normaliseRrf(score) }] : [];
      });
  }
}

function searchFailed(error: unknown): HubError {
  if (error instanceof HubError) return error;
  return new HubError('rag.elasticsearch', `Elasticsearch search failed: ${(error as Error).message}`, {
    cause: error,
    retryable: true,
  });
}
