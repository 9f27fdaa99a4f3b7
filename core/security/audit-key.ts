import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { HubError } from '../types/errors';
import { createSecretFileOnce } from './secret-file';

export const AUDIT_KEY_ENV = 'HUB_AUDIT_KEY';
export const DEFAULT_AUDIT_KEY_FILE = '.hub-data/audit.key';
const MIN_KEY_LENGTH = 32;

export interface AuditKeySource {
  /** `memory://` for an in-memory database: its log dies with the process, so may its key. */
  inMemory: boolean;
  keyFile?: string;
  env?: NodeJS.ProcessEnv;
}

/**
 * The server key that signs the audit chain: HUB_AUDIT_KEY, else a key file generated on first use
 * (`audit.keyFile`, `.hub-data/audit.key` by default, mode 0600). Every hub process writing to one
 * database must use the same key, so a deployment of several hosts sets HUB_AUDIT_KEY on all of
 * them; the key file suits one host. Keep the key away from the database's administrators: who
 * holds it can rewrite the chain.
 */
export async function resolveAuditKey(source: AuditKeySource): Promise<Buffer> {
  const fromEnv = (source.env ?? process.env)[AUDIT_KEY_ENV];
  if (fromEnv !== undefined && fromEnv !== '') {
    if (fromEnv.length < MIN_KEY_LENGTH) {
      throw new HubError(
        'audit.key_too_short',
        `${AUDIT_KEY_ENV} has ${fromEnv.length} characters. Fix: use at least ${MIN_KEY_LENGTH}, e.g. the output of \`openssl rand -hex 32\`.`,
      );
    }
    return Buffer.from(fromEnv, 'utf8');
  }
  if (source.inMemory) return randomBytes(32);
  return keyFromFile(resolve(source.keyFile ?? DEFAULT_AUDIT_KEY_FILE));
}

async function keyFromFile(path: string): Promise<Buffer> {
  try {
    await createSecretFileOnce(path, () => `${randomBytes(32).toString('hex')}\n`);
  } catch (error) {
    throw keyFileError(path, error);
  }
  let text: string;
  try {
    text = (await readFile(path, 'utf8')).trim();
  } catch (error) {
    throw keyFileError(path, error);
  }
  if (text.length < MIN_KEY_LENGTH) {
    throw new HubError(
      'audit.key_too_short',
      `The audit key in ${path} has ${text.length} characters. Fix: restore the file from backup, or set ${AUDIT_KEY_ENV}.`,
    );
  }
  return Buffer.from(text, 'utf8');
}

function keyFileError(path: string, cause: unknown): HubError {
  return new HubError(
    'audit.key_unavailable',
    `Cannot read or create the audit key file ${path}: ${(cause as Error).message}. Fix: make its directory writable, point audit.keyFile elsewhere, or set ${AUDIT_KEY_ENV}.`,
    { cause },
  );
}
