import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';
import { logger } from '../log';
import { hubVersion } from '../version';

/**
 * Results the hub derives from its own inputs at start-up, kept on disk so that a start with the
 * same inputs skips the work: knowledge chunks (Qwen3 token counts), the knowledge base's answer
 * threshold, the intent classifier's threshold. Each entry is named by a SHA-256 of everything the
 * result depends on (the inputs the caller passes, its `kind` with the algorithm's version in it,
 * and the hub's release), so a changed input is simply a miss: nothing is ever invalidated by hand.
 *
 * A cache is an optimisation only: an entry that cannot be read, parsed or checked is logged and
 * computed again; a write that fails is logged; neither ever fails the caller.
 */
export class DerivedCache {
  /** `dir` undefined: nothing is kept, every lookup misses. */
  constructor(readonly dir: string | undefined) {}

  /** `cache.dir` resolved against `cwd`; `cache.enabled: false` gives a cache that keeps nothing. */
  static fromConfig(config: { cache: { enabled: boolean; dir: string } }, cwd = process.cwd()): DerivedCache {
    return new DerivedCache(config.cache.enabled ? path.resolve(cwd, config.cache.dir) : undefined);
  }

  /** The entry name for `inputs`: hex SHA-256 of their canonical JSON with `kind` and the hub's release. */
  key(kind: string, inputs: unknown): string {
    return createHash('sha256').update(canonicalJson({ kind, hubVersion, inputs })).digest('hex');
  }

  /** The kept value of `kind` under `key`, checked by `schema`; undefined on a miss or an unusable entry. */
  read<T>(kind: string, key: string, schema: z.ZodType<T>): T | undefined {
    if (!this.dir) return undefined;
    const file = this.fileOf(kind, key);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      // Not there (yet): a miss. The write that follows says so if the folder is unusable.
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') this.unusable(kind, file, error);
      return undefined;
    }
    try {
      const entry = JSON.parse(text) as { kind?: unknown; key?: unknown; value?: unknown };
      if (entry.kind !== kind || entry.key !== key) throw new Error('the entry names another kind or key');
      const parsed = schema.safeParse(entry.value);
      if (!parsed.success)
        throw new Error(`the value does not have the expected shape: ${parsed.error.message}`);
      return parsed.data;
    } catch (error) {
      this.unusable(kind, file, error);
      return undefined;
    }
  }

  /** Keep `value` (JSON) under `key`; written to a temporary file and renamed, so a reader never sees half of it. */
  write(kind: string, key: string, value: unknown): void {
    if (!this.dir) return;
    const file = this.fileOf(kind, key);
    const temporary = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(temporary, JSON.stringify({ kind, key, value }), { mode: 0o600 });
      renameSync(temporary, file);
      this.prune(path.dirname(file));
    } catch (error) {
      try {
        rmSync(temporary, { force: true });
      } catch {
        // Nothing was written where nothing could be.
      }
      logger.warn(
        { kind, file, err: error },
        'cache: cannot keep a derived result; it is computed again at the next start',
      );
    }
  }

  /** `read`, else `compute` and `write`; `hit` says which. */
  through<T>(
    kind: string,
    inputs: unknown,
    schema: z.ZodType<T>,
    compute: () => T,
  ): { value: T; hit: boolean } {
    const key = this.key(kind, inputs);
    const kept = this.read(kind, key, schema);
    if (kept !== undefined) return { value: kept, hit: true };
    const value = compute();
    this.write(kind, key, value);
    return { value, hit: false };
  }

  /** `through` for a computation that awaits. */
  async throughAsync<T>(
    kind: string,
    inputs: unknown,
    schema: z.ZodType<T>,
    compute: () => Promise<T>,
  ): Promise<{ value: T; hit: boolean }> {
    const key = this.key(kind, inputs);
    const kept = this.read(kind, key, schema);
    if (kept !== undefined) return { value: kept, hit: true };
    const value = await compute();
    this.write(kind, key, value);
    return { value, hit: false };
  }

  private fileOf(kind: string, key: string): string {
    return path.join(this.dir as string, kind.replace(/[^a-z0-9-]/gi, '-'), `${key}.json`);
  }

  private unusable(kind: string, file: string, error: unknown): void {
    logger.warn({ kind, file, err: error }, 'cache: entry unusable; computing it again');
  }

  /** Every changed input leaves an entry behind: the newest MAX_ENTRIES of a kind stay. */
  private prune(dir: string): void {
    const entries = readdirSync(dir)
      .filter((name) => name.endsWith('.json'))
      .map((name) => {
        const file = path.join(dir, name);
        try {
          return { file, mtime: statSync(file).mtimeMs };
        } catch {
          return { file, mtime: 0 };
        }
      })
      .sort((a, b) => b.mtime - a.mtime);
    for (const { file } of entries.slice(MAX_ENTRIES)) rmSync(file, { force: true });
  }
}

/** Entries kept per kind: enough for every tenant's and test's variant, small enough to never matter on disk. */
const MAX_ENTRIES = 32;

/** JSON with object keys sorted at every level, so equal inputs hash equal whatever order they were built in. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) => {
    if (item && typeof item === 'object' && !Array.isArray(item)) {
      return Object.fromEntries(
        Object.entries(item as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)),
      );
    }
    return item;
  });
}

/** Hex SHA-256 of a text: how an input too large to repeat in the key's JSON (a document) enters it. */
export function digestOf(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
