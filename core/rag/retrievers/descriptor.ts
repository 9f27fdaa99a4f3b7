import type { Client } from '@elastic/elasticsearch';
import type { AnyPluginDescriptor, PluginDescriptor } from '../../config/plugins';
import type { Embedder } from '../embedder';
import type { KnowledgeIndex } from '../knowledge-index';
import type { RetrievalFeatures, RetrievalWeights } from './embedded/retriever';

/** What the hub hands a retriever's factory besides its own block. */
export interface RetrieverContext {
  embedder: Embedder;
  /** Embedded retriever parts and weights (tests, bench/retrieval.ts ablation). */
  features?: Partial<RetrievalFeatures>;
  weights?: Partial<RetrievalWeights>;
  candidates?: number;
  /** A ready Elasticsearch client (tests pass an emulator's). */
  elasticsearchClient?: Client;
}

/**
 * One retriever: its name (the value of `knowledge.retriever`), the schema of its block
 * `knowledge.<name>`, its factory, and its default don't-know threshold. Registered with one line
 * in core/rag/retrievers/index.ts.
 */
export interface RetrieverDescriptor<Options = unknown> extends PluginDescriptor<Options> {
  /** May load its client library first (a promise), so a hub that does not use it never loads it. */
  create(options: Options, context: RetrieverContext): KnowledgeIndex | Promise<KnowledgeIndex>;
  /**
   * Best-passage score below which the bot says it does not know, on this index's own score
   * scale, measured on the demo base (`hub kb eval`, test/unit/rag.test.ts).
   */
  readonly defaultMinScore: number;
}

/** Any retriever descriptor, as the registry holds it: its factory takes what its own schema parsed. */
export type AnyRetrieverDescriptor = AnyPluginDescriptor &
  Omit<RetrieverDescriptor, 'create' | 'online'> & {
    create(options: never, context: RetrieverContext): KnowledgeIndex | Promise<KnowledgeIndex>;
  };

/** Types a descriptor's factory by its own schema's output. */
export const defineRetriever = <Options>(
  descriptor: RetrieverDescriptor<Options>,
): RetrieverDescriptor<Options> => descriptor;
