import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { KnowledgeChunk } from '../../types';
import { HubError } from '../../types/errors';

export interface ManifestEntry {
  /** Absolute path of the file when it was ingested: deletions are found by it. */
  path: string;
  /** Shown in citations: the path relative to the parent of what was ingested. */
  source: string;
  /** sha256 of the file's bytes and of the options that shape its chunks. */
  hash: string;
  chunkIds: string[];
  /** The file's modification time. */
  updatedAt: string;
  ingestedAt: string;
}

export interface Manifest {
  version: 1;
  documents: Record<string, ManifestEntry>;
}

export interface StoredKnowledge {
  manifest: Manifest;
  chunks: KnowledgeChunk[];
}

const MANIFEST = 'manifest.json';
const CHUNKS = 'chunks.jsonl';

/**
 * What `hub kb ingest` produced, in a directory: `chunks.jsonl` (one chunk per line) and
 * `manifest.json` (one entry per ingested file). Both are written to temporary files and renamed,
 * chunks first, so a reader never sees a manifest that names chunks the file lacks. The running
 * hub watches the manifest and reloads when it changes.
 */
export class KnowledgeStore {
  constructor(readonly dir: string) {}

  get manifestPath(): string {
    return path.join(this.dir, MANIFEST);
  }

  async read(): Promise<StoredKnowledge> {
    let manifestText: string;
    try {
      manifestText = await readFile(this.manifestPath, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT')
        return { manifest: emptyManifest(), chunks: [] };
      throw error;
    }
    try {
      const manifest = JSON.parse(manifestText) as Manifest;
      const lines = (await readFile(path.join(this.dir, CHUNKS), 'utf8')).split('\n').filter(Boolean);
      return { manifest, chunks: lines.map((line) => JSON.parse(line) as KnowledgeChunk) };
    } catch (cause) {
      throw new HubError(
        'knowledge.store',
        `The knowledge store in ${this.dir} is unreadable: ${(cause as Error).message}. Fix: delete the folder and run "hub kb ingest" again.`,
        { cause },
      );
    }
  }

  async write({ manifest, chunks }: StoredKnowledge): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const suffix = `.${process.pid}.tmp`;
    const chunksFile = path.join(this.dir, CHUNKS);
    await writeFile(chunksFile + suffix, chunks.map((chunk) => `${JSON.stringify(chunk)}\n`).join(''));
    await rename(chunksFile + suffix, chunksFile);
    await writeFile(this.manifestPath + suffix, `${JSON.stringify(manifest, null, 2)}\n`);
    await rename(this.manifestPath + suffix, this.manifestPath);
  }

  /** Modification time of the manifest in ms; 0 when there is none yet. */
  async version(): Promise<number> {
    return stat(this.manifestPath).then(
      (s) => s.mtimeMs,
      () => 0,
    );
  }
}

export function emptyManifest(): Manifest {
  return { version: 1, documents: {} };
}
