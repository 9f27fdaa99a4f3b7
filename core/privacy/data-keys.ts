import { randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { createSecretFileOnce } from '../security/secret-file';
import { HubError } from '../types/errors';
import { KEY_ID_PATTERN, type KeyProvider, LocalKeyProvider } from './at-rest';

/** `id:base64key,id:base64key`: every key-encryption key the hub may read with. */
export const DATA_KEYS_ENV = 'HUB_DATA_KEYS';
/** The id of the key new records are sealed with; default the last one of HUB_DATA_KEYS. */
export const DATA_KEY_ACTIVE_ENV = 'HUB_DATA_KEY_ACTIVE';
/** The key of the lookup hashes (base64, 32 bytes); required with HUB_DATA_KEYS, never rotated. */
export const DATA_LOOKUP_KEY_ENV = 'HUB_DATA_LOOKUP_KEY';
export const DEFAULT_DATA_KEY_FILE = '.hub-data/data-keys.json';

export interface DataKeySource {
  /** `memory://` database: its records die with the process, so may its keys. */
  inMemory: boolean;
  keyFile?: string;
  env?: NodeJS.ProcessEnv;
}

/** What the key file holds (mode 0600): the KEKs, the active one, the lookup key; all base64. */
interface KeyFile {
  version: 1;
  active: string;
  keys: Record<string, string>;
  lookup: string;
}

/**
 * The key-encryption keys: HUB_DATA_KEYS (+ HUB_DATA_KEY_ACTIVE, HUB_DATA_LOOKUP_KEY) when set,
 * else a key file generated on first use (`privacy.atRest.keyFile`, one host only). Every hub
 * process of one database needs the same keys, so a deployment of several hosts sets the
 * environment on all of them. Keep the keys away from the database's administrators.
 */
export async function resolveDataKeys(source: DataKeySource): Promise<KeyProvider> {
  const env = source.env ?? process.env;
  const listed = env[DATA_KEYS_ENV];
  if (listed !== undefined && listed !== '') return keysFromEnv(listed, env);
  if (source.inMemory) return newKeys().provider;
  const path = dataKeyFilePath(source.keyFile);
  return new FileKeyProvider(path, (await readKeyFile(path)).file);
}

/** How often a running hub looks at its key file for a key `hub keys rotate --new-key` added. */
const KEY_FILE_CHECK_MS = 2_000;

/**
 * The key file's keys, followed while the hub runs: `hub keys rotate --new-key` (another process)
 * adds a key and makes it active, and a running hub seals with it within seconds and reads records
 * wrapped under it at once, so rotation needs no restart.
 */
export class FileKeyProvider implements KeyProvider {
  private current: KeyProvider;
  private checkedAt = Date.now();
  private mtimeMs: number;

  constructor(
    private readonly path: string,
    file: KeyFile,
  ) {
    this.current = providerOf(file);
    this.mtimeMs = mtimeOf(path);
  }

  get activeKeyId(): string {
    this.refresh(false);
    return this.current.activeKeyId;
  }

  get lookupKey(): Buffer {
    return this.current.lookupKey;
  }

  keyIds(): string[] {
    return this.current.keyIds();
  }

  wrap(dek: Buffer, aad: (keyId: string) => Buffer): { keyId: string; wrapped: Buffer } {
    this.refresh(false);
    return this.current.wrap(dek, aad);
  }

  unwrap(keyId: string, wrapped: Buffer, aad: Buffer): Buffer {
    if (!this.current.keyIds().includes(keyId)) this.refresh(true);
    return this.current.unwrap(keyId, wrapped, aad);
  }

  private refresh(now: boolean): void {
    if (!now && Date.now() - this.checkedAt < KEY_FILE_CHECK_MS) return;
    this.checkedAt = Date.now();
    const mtimeMs = mtimeOf(this.path);
    if (mtimeMs === this.mtimeMs) return;
    try {
      const file = JSON.parse(readFileSync(this.path, 'utf8')) as KeyFile;
      const next = providerOf(file);
      // The lookup key never changes: a file that says otherwise is not this hub's.
      if (!next.lookupKey.equals(this.current.lookupKey)) return;
      this.current = next;
      this.mtimeMs = mtimeMs;
    } catch {
      // Half-written or unreadable: keep the keys in hand and look again later.
    }
  }
}

function mtimeOf(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

export function dataKeyFilePath(keyFile: string | undefined): string {
  return resolve(keyFile ?? DEFAULT_DATA_KEY_FILE);
}

/** True when the keys come from the environment (rotation then means editing it, not the file). */
export function dataKeysFromEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  return (env[DATA_KEYS_ENV] ?? '') !== '';
}

function keysFromEnv(listed: string, env: NodeJS.ProcessEnv): KeyProvider {
  const keys = new Map<string, Buffer>();
  for (const entry of listed.split(',')) {
    const [id, base64, ...rest] = entry.trim().split(':');
    if (!id || !base64 || rest.length > 0) {
      throw new HubError(
        'at_rest.bad_key',
        `${DATA_KEYS_ENV} must be id:base64key pairs separated by commas, e.g. k1:$(openssl rand -base64 32).`,
      );
    }
    keys.set(id, Buffer.from(base64, 'base64'));
  }
  const lookup = env[DATA_LOOKUP_KEY_ENV];
  if (!lookup) {
    throw new HubError(
      'at_rest.bad_key',
      `${DATA_KEYS_ENV} is set but ${DATA_LOOKUP_KEY_ENV} is not. Fix: set it to the output of \`openssl rand -base64 32\`, once, and never change it (lookups of stored customers depend on it).`,
    );
  }
  const active = env[DATA_KEY_ACTIVE_ENV] || [...keys.keys()].at(-1) || '';
  return new LocalKeyProvider(keys, active, Buffer.from(lookup, 'base64'));
}

function newKeys(): { file: KeyFile; provider: KeyProvider } {
  const file: KeyFile = {
    version: 1,
    active: newKeyId(),
    keys: {},
    lookup: randomBytes(32).toString('base64'),
  };
  file.keys[file.active] = randomBytes(32).toString('base64');
  return { file, provider: providerOf(file) };
}

/** Time-ordered ids, so `hub keys rotate` output reads in order. */
function newKeyId(): string {
  return `k${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
}

function providerOf(file: KeyFile): KeyProvider {
  const keys = new Map(Object.entries(file.keys).map(([id, key]) => [id, Buffer.from(key, 'base64')]));
  return new LocalKeyProvider(keys, file.active, Buffer.from(file.lookup, 'base64'));
}

async function readKeyFile(path: string): Promise<{ file: KeyFile; provider: KeyProvider }> {
  try {
    await createSecretFileOnce(path, () => `${JSON.stringify(newKeys().file, null, 2)}\n`);
  } catch (error) {
    throw keyFileError(path, error);
  }
  let file: KeyFile;
  try {
    file = JSON.parse(await readFile(path, 'utf8')) as KeyFile;
  } catch (error) {
    throw keyFileError(path, error);
  }
  if (file?.version !== 1 || typeof file.keys !== 'object' || typeof file.lookup !== 'string') {
    throw new HubError(
      'at_rest.bad_key',
      `${path} is not a data key file. Fix: restore it from backup, or set ${DATA_KEYS_ENV}.`,
    );
  }
  return { file, provider: providerOf(file) };
}

/**
 * Add a fresh key to the key file and make it the active one; the old keys stay so that records
 * not yet re-wrapped still read. Returns the new key's id.
 */
export async function addFileKey(keyFile: string | undefined): Promise<string> {
  const path = dataKeyFilePath(keyFile);
  const { file } = await readKeyFile(path);
  let id = newKeyId();
  while (file.keys[id] || !KEY_ID_PATTERN.test(id)) id = newKeyId();
  file.keys[id] = randomBytes(32).toString('base64');
  file.active = id;
  await writeKeyFile(path, file);
  return id;
}

/** Remove keys no record is wrapped under any more (after `hub keys rotate` finished). */
export async function dropFileKeys(
  keyFile: string | undefined,
  keep: (id: string) => boolean,
): Promise<string[]> {
  const path = dataKeyFilePath(keyFile);
  const { file } = await readKeyFile(path);
  const dropped = Object.keys(file.keys).filter((id) => id !== file.active && !keep(id));
  for (const id of dropped) delete file.keys[id];
  if (dropped.length > 0) await writeKeyFile(path, file);
  return dropped;
}

async function writeKeyFile(path: string, file: KeyFile): Promise<void> {
  const aside = `${path}.${process.pid}.${randomBytes(4).toString('hex')}`;
  await writeFile(aside, `${JSON.stringify(file, null, 2)}\n`, { flag: 'wx', mode: 0o600 });
  await rename(aside, path);
}

function keyFileError(path: string, cause: unknown): HubError {
  return new HubError(
    'at_rest.key_unavailable',
    `Cannot read or create the data key file ${path}: ${(cause as Error).message}. Fix: make its directory writable, point privacy.atRest.keyFile elsewhere, or set ${DATA_KEYS_ENV}.`,
    { cause },
  );
}
