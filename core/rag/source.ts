import type { KnowledgeChunk } from '../types';

/**
 * Knowledge kept somewhere other than `knowledge.dir` and the ingest store, e.g. the entries
 * published from the console (core/knowledge-gaps, a database table). `createKnowledge` loads every
 * source with the folder and the store, polls `version` beside the store's manifest, and takes the
 * changes in at once when the source says so through `onChange` (a publish in the same process).
 */
export interface KnowledgeSource {
  readonly name: string;
  /** Every chunk the source holds now; a chunk here wins over one with the same id from the folder or the store. */
  chunks(): Promise<KnowledgeChunk[]>;
  /** Changes whenever `chunks` would give something else; cheap, it is polled. */
  version(): Promise<string>;
  /** Called by the source after a change made in this process; returns the way to stop listening. */
  onChange?(listener: () => Promise<void>): () => void;
}
