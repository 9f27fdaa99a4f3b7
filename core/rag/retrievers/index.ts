import { PluginRegistry } from '../../config/plugins';
import { hubConfigSchema } from '../../config/schema';
import type { AnyRetrieverDescriptor } from './descriptor';
import { elasticsearchRetriever } from './elasticsearch';
import { embeddedRetriever } from './embedded';

export {
  type AnyRetrieverDescriptor,
  defineRetriever,
  type RetrieverContext,
  type RetrieverDescriptor,
} from './descriptor';

export type RetrieverRegistry = PluginRegistry<AnyRetrieverDescriptor>;

/** Retrievers by `knowledge.retriever`: a new one is one folder plus one line here. */
export const retrievers: RetrieverRegistry = new PluginRegistry('retriever', 'knowledge', 'retriever', [
  embeddedRetriever,
  elasticsearchRetriever,
]).withSectionKeys(hubConfigSchema.shape.knowledge);
