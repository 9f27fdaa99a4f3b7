export { type Cluster, clusterByCentroid } from './cluster';
export {
  type DraftAuthor,
  type DraftStatus,
  type KnowledgeDraft,
  KnowledgeDraftStore,
  type NewDraft,
} from './drafts';
export { ENTRY_DOC_PREFIX, entryChunks, entryMarkdown, entrySource } from './entry';
export { defaultSimilarity, type GapReport, type KnowledgeGap, KnowledgeGaps } from './gaps';
export { registerKnowledgeGapRoutes } from './routes';
