import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { HubError } from '../../core/types';

/**
 * A path a command reads, checked before any work starts: a missing one is a one-line error that
 * says what to pass, not a file-not-found stack (a plain clone has no ../shared/data, for one).
 */
export function requirePath(path: string, what: string, fix: string): string {
  const full = resolve(path);
  if (!existsSync(full))
    throw new HubError('cli.missing_input', `${path} does not exist (${what}). Fix: ${fix}`);
  return full;
}

/** A file a command writes: its folder must exist. */
export function requireFolderOf(file: string, fix: string): string {
  const full = resolve(file);
  if (!existsSync(dirname(full))) {
    throw new HubError(
      'cli.missing_input',
      `cannot write ${file}: folder ${dirname(full)} does not exist. Fix: ${fix}`,
    );
  }
  return full;
}
