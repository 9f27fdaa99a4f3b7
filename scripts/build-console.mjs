#!/usr/bin/env node
// Builds the operator console (console/ → console/dist) with Vite when its sources are newer than the
// last build, or when --force is given. Run by `npm ci` (prepare), `npm run build:console` and the
// test suite's global setup. Without Vite (a production-only install) it says so and leaves dist alone.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const consoleDir = join(root, 'console');
const built = join(consoleDir, 'dist', 'index.html');

function newest(path) {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let latest = 0;
  for (const entry of readdirSync(path)) latest = Math.max(latest, newest(join(path, entry)));
  return latest;
}

export function consoleIsStale() {
  if (!existsSync(built)) return true;
  const sources = [
    join(consoleDir, 'src'),
    join(consoleDir, 'index.html'),
    join(consoleDir, 'vite.config.ts'),
    join(root, 'package-lock.json'),
  ];
  const sourceTime = Math.max(...sources.filter((path) => existsSync(path)).map(newest));
  return sourceTime > statSync(built).mtimeMs;
}

export async function buildConsole({ force = false } = {}) {
  if (!force && !consoleIsStale()) return false;
  let vite;
  try {
    vite = await import('vite');
  } catch {
    console.warn('console: Vite is not installed (a production-only install); console/dist is left as it is');
    return false;
  }
  const started = Date.now();
  await vite.build({ configFile: join(consoleDir, 'vite.config.ts'), logLevel: 'warn' });
  console.log(`console: built console/dist in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return true;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await buildConsole({ force: process.argv.includes('--force') });
}
