import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
const hub = (...args: string[]) =>
  promisify(execFile)(process.execPath, [join(ROOT, 'bin', 'hub.mjs'), ...args], {
    cwd: ROOT,
    timeout: 60_000,
  });

describe('hub --version', () => {
  it('prints the package version and nothing else, as --version, -v and version', async () => {
    expect(version).toMatch(/^\d+\.\d+\.\d+$/);
    for (const args of [['--version'], ['-v'], ['version']]) {
      const { stdout, stderr } = await hub(...args);
      expect(stdout, args.join(' ')).toBe(`${version}\n`);
      expect(stderr).toBe('');
    }
  });

  it('lists the version command in the help', async () => {
    const { stdout } = await hub('--help');
    expect(stdout).toMatch(/-v, --version\s+print the hub version/);
    expect(stdout).toMatch(/^\s+version\s+Print the hub version$/m);
  });
});
