import { DerivedCache } from '../cache/derived';
import type { HubConfig } from '../config/schema';
import { loadAllChunks } from '../rag';
import type { KnowledgeChunk } from '../types';
import type { PassageLookup } from './conversations';

/** How long the chunks read for a transcript are kept before `knowledge.dir` and the store are read again. */
const KEEP_MS = 60_000;
/** A passage's text as a transcript shows it: enough to see why it was found. */
const SNIPPET_CHARS = 280;

/**
 * Titles and text of knowledge passages by chunk id, for the console's turn traces. The API
 * process has no knowledge index of its own (the workers do), so it reads the same sources the
 * index is built from (`knowledge.dir` and the ingest store, chunked through the start-up cache)
 * on the first transcript that asks, and keeps them a minute. A failed read leaves passages
 * untitled, never the transcript unanswered.
 */
export function knowledgePassages(
  config: HubConfig,
  options: { now?: () => number; load?: () => Promise<KnowledgeChunk[]> } = {},
): PassageLookup {
  const now = options.now ?? Date.now;
  const load = options.load ?? (() => loadAllChunks(config, { cache: DerivedCache.fromConfig(config) }));
  let kept: { at: number; byId: Promise<Map<string, KnowledgeChunk>> } | undefined;
  return async (ids) => {
    if (!kept || now() - kept.at > KEEP_MS) {
      const byId = load()
        .then((chunks) => new Map(chunks.map((chunk) => [chunk.id, chunk])))
        .catch(() => new Map<string, KnowledgeChunk>());
      kept = { at: now(), byId };
    }
    const byId = await kept.byId;
    const found = new Map<string, { title: string; section?: string; text: string }>();
    for (const id of ids) {
      const chunk = byId.get(id);
      if (!chunk) continue;
      const text = chunk.text.length > SNIPPET_CHARS ? `${chunk.text.slice(0, SNIPPET_CHARS)}…` : chunk.text;
      found.set(id, { title: chunk.title, ...(chunk.section ? { section: chunk.section } : {}), text });
    }
    return found;
  };
}
