import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

/** Helpers for the deployment files' static checks: paths from the repository root, YAML documents. */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export const repoPath = (...parts: string[]) => join(ROOT, ...parts);
export const readRepoFile = (...parts: string[]) => readFileSync(repoPath(...parts), 'utf8');
export const existsInRepo = (...parts: string[]) => existsSync(repoPath(...parts));

/** Every YAML document of a file, as plain objects (merge keys `<<:` applied, as compose does). */
export function yamlDocuments(file: string): Array<Record<string, unknown>> {
  return parseAllDocuments(readRepoFile(file), { merge: true }).flatMap((doc) => {
    if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]?.message}`);
    const value = doc.toJS() as Record<string, unknown> | null;
    return value ? [value] : [];
  });
}

/** Files below a folder of the repository (relative paths), optionally by extension. */
export function filesBelow(folder: string, extensions: string[] = []): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (extensions.length === 0 || extensions.some((ext) => entry.name.endsWith(ext)))
        found.push(relative(ROOT, path));
    }
  };
  walk(repoPath(folder));
  return found.sort();
}

/** `${VAR}`, `${VAR:-default}`, `${VAR:?message}` references in a text. */
export function envReferences(text: string): string[] {
  return [
    ...new Set([...text.matchAll(/\$\{([A-Z][A-Z0-9_]*)(?::?[-?+][^}]*)?\}/g)].map((m) => m[1] as string)),
  ];
}

/** Environment variables the hub's code reads (process.env.X, env.X, env['X'], the admin token constant). */
export function envVarsReadByCode(): Set<string> {
  const names = new Set<string>();
  for (const folder of ['app', 'core', 'connectors', 'adapters', 'bin']) {
    for (const file of filesBelow(folder, ['.ts', '.mjs'])) {
      const text = readRepoFile(file);
      for (const m of text.matchAll(/\benv(?:\.|\[')([A-Z][A-Z0-9_]*)/g)) names.add(m[1] as string);
      for (const m of text.matchAll(/_ENV = '([A-Z][A-Z0-9_]*)'/g)) names.add(m[1] as string);
    }
  }
  return names;
}
