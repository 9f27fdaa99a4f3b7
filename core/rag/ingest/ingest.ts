import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { KnowledgeChunk } from '../../types';
import { HubError } from '../../types/errors';
import type { KnowledgeIndex } from '../knowledge-index';
import { knowledgeFiles, type LoadOptions } from '../load';
import { isIngestible, parseDocumentFile } from './formats';
import type { KnowledgeStore, ManifestEntry } from './store';

export interface IngestOptions extends LoadOptions {
  /** Changed chunks are indexed here and removed ones deleted (Elasticsearch); the store is written either way. */
  index?: Pick<KnowledgeIndex, 'index' | 'remove'>;
  onProgress?: (done: number, total: number, source: string) => void;
  /** Re-parse every file even when its hash is unchanged. */
  force?: boolean;
}

export interface IngestSummary {
  files: number;
  added: string[];
  updated: string[];
  unchanged: number;
  deleted: string[];
  failed: Array<{ source: string; error: string }>;
  chunksWritten: number;
  chunksRemoved: number;
  chunksTotal: number;
  ms: number;
}

/** Bumped when parsing changes, so every file is parsed again after an upgrade. */
const PARSER_VERSION = '1';

/**
 * Ingest a file or a folder (recursively; hidden paths and README.md skipped) into the store.
 * A file whose bytes and chunking options hash as before is skipped; files that disappeared from
 * under `target` since the last ingest are deleted with their chunks. A file that fails to parse is
 * reported and keeps its previous chunks; the others go ahead.
 */
export async function ingest(
  target: string,
  store: KnowledgeStore,
  options: IngestOptions = {},
): Promise<IngestSummary> {
  const started = performance.now();
  const root = path.resolve(target);
  const rootStat = await stat(root).catch((cause) => {
    throw new HubError('knowledge.ingest', `Cannot read ${target}: ${(cause as Error).message}`, { cause });
  });
  const files = rootStat.isDirectory() ? await knowledgeFiles(root, isIngestible) : [root];
  const base = path.dirname(root);
  const { manifest, chunks: storedChunks } = await store.read();
  const byId = new Map(storedChunks.map((chunk) => [chunk.id, chunk]));
  const optionsHash = JSON.stringify([
    PARSER_VERSION,
    options.tenant ?? '',
    options.maxTokens ?? '',
    options.overlapTokens ?? '',
  ]);
  const summary: IngestSummary = {
    files: files.length,
    added: [],
    updated: [],
    unchanged: 0,
    deleted: [],
    failed: [],
    chunksWritten: 0,
    chunksRemoved: 0,
    chunksTotal: 0,
    ms: 0,
  };
  const written: KnowledgeChunk[] = [];
  const removed = new Set<string>();
  const now = new Date().toISOString();

  for (const [i, file] of files.entries()) {
    const source = path.relative(base, file).split(path.sep).join('/');
    options.onProgress?.(i, files.length, source);
    try {
      const [data, info] = await Promise.all([readFile(file), stat(file)]);
      const hash = createHash('sha256').update(optionsHash).update(data).digest('hex');
      const known = manifest.documents[file];
      if (known && known.hash === hash && !options.force) {
        summary.unchanged++;
        continue;
      }
      const updatedAt = info.mtime.toISOString();
      const chunks = await parseDocumentFile(data, source, { ...options, updatedAt });
      const ids = new Set(chunks.map((chunk) => chunk.id));
      for (const chunk of chunks) {
        const owner = byId.get(chunk.id);
        if (owner && !known?.chunkIds.includes(chunk.id)) {
          throw new HubError(
            'knowledge.duplicate_id',
            `chunk id "${chunk.id}" is already used by ${owner.source}; give the document its own front matter "id"`,
          );
        }
      }
      for (const id of known?.chunkIds ?? []) {
        if (!ids.has(id)) {
          byId.delete(id);
          removed.add(id);
        }
      }
      for (const chunk of chunks) {
        byId.set(chunk.id, chunk);
        removed.delete(chunk.id);
      }
      written.push(...chunks);
      const entry: ManifestEntry = {
        path: file,
        source,
        hash,
        chunkIds: [...ids],
        updatedAt,
        ingestedAt: now,
      };
      manifest.documents[file] = entry;
      (known ? summary.updated : summary.added).push(source);
    } catch (error) {
      const message = (error as Error).message;
      summary.failed.push({
        source,
        error: message.startsWith(`${source}: `) ? message.slice(source.length + 2) : message,
      });
    }
  }
  options.onProgress?.(files.length, files.length, '');

  const present = new Set(files);
  for (const [file, entry] of Object.entries(manifest.documents)) {
    const under = file === root || file.startsWith(root + path.sep);
    if (!under || present.has(file)) continue;
    for (const id of entry.chunkIds) {
      byId.delete(id);
      removed.add(id);
    }
    delete manifest.documents[file];
    summary.deleted.push(entry.source);
  }

  if (options.index) {
    if (removed.size > 0) await options.index.remove([...removed]);
    if (written.length > 0) await options.index.index(written);
  }
  const chunks = [...byId.values()];
  await store.write({ manifest, chunks });
  summary.chunksWritten = written.length;
  summary.chunksRemoved = removed.size;
  summary.chunksTotal = chunks.length;
  summary.ms = Math.round(performance.now() - started);
  return summary;
}

export function formatSummary(summary: IngestSummary): string {
  const lines = [
    `${summary.files} file(s): ${summary.added.length} added, ${summary.updated.length} updated, ${summary.unchanged} unchanged, ${summary.deleted.length} deleted, ${summary.failed.length} failed`,
    `chunks: ${summary.chunksWritten} written, ${summary.chunksRemoved} removed, ${summary.chunksTotal} in the store (${summary.ms} ms)`,
  ];
  for (const { source, error } of summary.failed) lines.push(`failed: ${source}: ${error}`);
  for (const source of summary.deleted) lines.push(`deleted: ${source}`);
  return lines.join('\n');
}
