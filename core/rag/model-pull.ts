import { createHash } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { HubError } from '../types/errors';
import type { KnownModel } from './model-catalog';

export const DEFAULT_HF_ENDPOINT = 'https://huggingface.co';
/** What `hub models pull` writes beside the files: where they came from and their checksums. */
export const PULL_RECORD = 'hub-model.json';

export type PullProgress =
  | { type: 'file'; path: string; url: string }
  | { type: 'bytes'; path: string; received: number; total?: number }
  | { type: 'verified'; path: string; sha256: string; bytes: number };

export interface PullOptions {
  /** The model folder to create. */
  dir: string;
  /** Hugging Face endpoint (a mirror, or a test server); default HF_ENDPOINT, else huggingface.co. */
  endpoint?: string;
  /** The commit to fetch, instead of (or where the table has none) the pinned one. */
  revision?: string;
  /** SHA-256 by file path, from `--checksums`; required for every file the table does not pin at this revision. */
  checksums?: Record<string, string>;
  /** Replace an existing folder (only once every file is downloaded and checked). */
  force?: boolean;
  onProgress?: (event: PullProgress) => void;
}

export interface PullResult {
  dir: string;
  revision: string;
  files: { path: string; saveAs?: string; sha256: string; bytes: number }[];
}

const COMMIT = /^[0-9a-f]{40}$/;
const SHA256 = /^[0-9a-f]{64}$/;

/**
 * Downloads a known model at a pinned commit (`{endpoint}/{repo}/resolve/{revision}/{file}`), checks
 * each file's SHA-256 as it streams, and only then puts the folder in place with one rename: a
 * failed, tampered or interrupted pull leaves no folder and no partial file behind.
 */
export async function pullModel(model: KnownModel, options: PullOptions): Promise<PullResult> {
  const revision = (options.revision ?? model.revision ?? '').toLowerCase();
  if (!COMMIT.test(revision)) {
    throw new HubError(
      'models.unpinned',
      options.revision || model.revision
        ? `${model.name}: revision "${options.revision ?? model.revision}" is not a commit hash (40 hex digits). Fix: pass --revision <commit> from ${model.repo}'s history.`
        : `${model.name}: this hub version pins no revision for ${model.repo}. Fix: pass --revision <commit> (from the repository's history) and --checksums <file> (sha256sum lines for ${model.files.map((f) => f.path).join(', ')}).`,
    );
  }
  const pinned = revision === model.revision?.toLowerCase();
  const wanted = model.files.map((file) => ({
    path: file.path,
    saveAs: file.saveAs ?? file.path,
    sha256: (options.checksums?.[file.path] ?? (pinned ? file.sha256 : undefined))?.toLowerCase(),
    // A size is only known for the pinned commit, and only when no other checksum replaces the pin.
    bytes: pinned && !options.checksums?.[file.path] ? file.bytes : undefined,
  }));
  const unchecked = wanted
    .filter((file) => !file.sha256 || !SHA256.test(file.sha256))
    .map((file) => file.path);
  if (unchecked.length > 0) {
    throw new HubError(
      'models.unpinned',
      `${model.name}@${revision.slice(0, 12)}: no SHA-256 to check ${unchecked.join(', ')} against, so nothing was downloaded. Fix: pass --checksums <file> with one "<sha256>  <path>" line per file (as sha256sum prints; Hugging Face shows each file's SHA-256 on its page).`,
    );
  }
  const target = path.resolve(options.dir);
  if (existsSync(target) && (await readdir(target)).length > 0 && !options.force) {
    throw new HubError(
      'models.exists',
      `${target} already exists and is not empty. Fix: pass --force to replace it, or --dir for another folder.`,
    );
  }
  const endpoint = (options.endpoint ?? process.env.HF_ENDPOINT ?? DEFAULT_HF_ENDPOINT).replace(/\/+$/, '');
  await mkdir(path.dirname(target), { recursive: true });
  const staging = await mkdtemp(`${target}.partial-`);
  try {
    const files: PullResult['files'] = [];
    for (const file of wanted) {
      const url = `${endpoint}/${model.repo}/resolve/${revision}/${file.path.split('/').map(encodeURIComponent).join('/')}`;
      options.onProgress?.({ type: 'file', path: file.path, url });
      const got = await download(url, path.join(staging, file.saveAs), file, options.onProgress);
      if (got.sha256 !== file.sha256) {
        throw new HubError(
          'models.checksum',
          `${model.name}: ${file.path} from ${url} has SHA-256 ${got.sha256}, expected ${file.sha256}. The download was altered or the checksum is wrong; nothing was written to ${target}.`,
        );
      }
      options.onProgress?.({ type: 'verified', path: file.path, sha256: got.sha256, bytes: got.bytes });
      files.push({
        path: file.path,
        ...(file.saveAs !== file.path ? { saveAs: file.saveAs } : {}),
        sha256: got.sha256,
        bytes: got.bytes,
      });
    }
    const record = {
      name: model.name,
      repo: model.repo,
      revision,
      endpoint,
      pulledAt: new Date().toISOString(),
      files,
      embedder: model.embedder,
    };
    await writeFile(path.join(staging, PULL_RECORD), `${JSON.stringify(record, null, 2)}\n`);
    await swapInto(staging, target);
    return { dir: target, revision, files };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

async function download(
  url: string,
  file: string,
  expected: { path: string; bytes?: number },
  onProgress: PullOptions['onProgress'],
): Promise<{ sha256: string; bytes: number }> {
  const name = expected.path;
  let response: Response;
  try {
    response = await fetch(url, { redirect: 'follow' });
  } catch (cause) {
    throw new HubError('models.download', `GET ${url} failed: ${(cause as Error).message}`, {
      cause,
      retryable: true,
    });
  }
  if (!response.ok || !response.body) {
    await response.body?.cancel();
    throw new HubError(
      'models.download',
      `GET ${url} answered ${response.status} ${response.statusText}. Fix: check the model name, --revision and HF_ENDPOINT.`,
      { retryable: response.status >= 500 || response.status === 429 },
    );
  }
  const length = Number(response.headers.get('content-length'));
  const total = Number.isFinite(length) && length > 0 ? length : undefined;
  if (expected.bytes !== undefined && total !== undefined && total !== expected.bytes) {
    await response.body.cancel();
    throw new HubError(
      'models.checksum',
      `GET ${url} announces ${total} bytes; ${name} at the pinned commit has ${expected.bytes}. Nothing was downloaded. Fix: check HF_ENDPOINT (a mirror serving other files) or pass --revision and --checksums for another commit.`,
    );
  }
  const hash = createHash('sha256');
  let received = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      received += chunk.length;
      onProgress?.({ type: 'bytes', path: name, received, ...(total ? { total } : {}) });
      done(null, chunk);
    },
  });
  await mkdir(path.dirname(file), { recursive: true });
  try {
    await pipeline(Readable.fromWeb(response.body as never), meter, createWriteStream(file));
  } catch (cause) {
    throw new HubError(
      'models.download',
      `GET ${url} broke off after ${received} bytes: ${(cause as Error).message}`,
      {
        cause,
        retryable: true,
      },
    );
  }
  if (total !== undefined && received !== total) {
    throw new HubError('models.download', `GET ${url} ended after ${received} of ${total} bytes`, {
      retryable: true,
    });
  }
  return { sha256: hash.digest('hex'), bytes: received };
}

/** Puts the checked folder at `target`; an existing one (--force) is moved aside first and removed after. */
async function swapInto(staging: string, target: string): Promise<void> {
  if (!existsSync(target)) {
    await rename(staging, target);
    return;
  }
  const old = `${target}.old-${process.pid}-${Date.now()}`;
  await rename(target, old);
  try {
    await rename(staging, target);
  } catch (error) {
    await rename(old, target);
    throw error;
  }
  await rm(old, { recursive: true, force: true });
}

/** `sha256sum` output ("<hex>  <path>" or "<hex> *<path>" per line) → SHA-256 by path. */
export function parseChecksums(text: string): Record<string, string> {
  const sums: Record<string, string> = {};
  for (const [index, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const match = /^([0-9a-fA-F]{64})\s+\*?(.+)$/.exec(line);
    if (!match?.[1] || !match[2]) {
      throw new HubError(
        'models.checksums',
        `checksums line ${index + 1} is not "<sha256>  <path>": ${line}`,
      );
    }
    sums[match[2].replace(/^\.\//, '')] = match[1].toLowerCase();
  }
  return sums;
}
