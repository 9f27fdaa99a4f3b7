import { randomBytes } from 'node:crypto';
import { link, mkdir, unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * Creates a secret file (mode 0600) unless it exists. The content is written aside, then linked into
 * place: of several processes starting at once, one creates the file and the others find a whole
 * one, never a half-written file. An existing file is left as it is; other errors are thrown.
 */
export async function createSecretFileOnce(path: string, content: () => string): Promise<void> {
  try {
    await mkdir(dirname(path), { recursive: true });
    const aside = `${path}.${process.pid}.${randomBytes(4).toString('hex')}`;
    await writeFile(aside, content(), { flag: 'wx', mode: 0o600 });
    try {
      await link(aside, path);
    } finally {
      await unlink(aside).catch(() => {});
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
}
