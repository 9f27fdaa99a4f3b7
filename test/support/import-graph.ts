import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

/** File → the project files it imports (type-only imports included: they tie files together too). */
export type ImportGraph = Map<string, string[]>;

const SOURCE_ROOTS = ['app', 'core', 'connectors', 'adapters'];

function sourceFiles(root: string, dir: string): string[] {
  const path = join(root, dir);
  if (!existsSync(path)) return [];
  return readdirSync(path).flatMap((name) => {
    const child = join(dir, name);
    if (statSync(join(root, child)).isDirectory()) return sourceFiles(root, child);
    return /(?<!\.d)\.ts$/.test(name) ? [child] : [];
  });
}

function resolveImport(root: string, from: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined;
  const base = resolve(root, dirname(from), specifier);
  for (const candidate of [base, `${base}.ts`, join(base, 'index.ts')]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return relative(root, candidate);
  }
  return `unresolved:${specifier}`;
}

/** The import graph of the hub's own sources (app, core, connectors, adapters), paths relative to `root`. */
export function importGraph(root: string): ImportGraph {
  const graph: ImportGraph = new Map();
  for (const file of SOURCE_ROOTS.flatMap((dir) => sourceFiles(root, dir))) {
    const info = ts.preProcessFile(readFileSync(join(root, file), 'utf8'), true, true);
    const targets = info.importedFiles.flatMap(
      (imported) => resolveImport(root, file, imported.fileName) ?? [],
    );
    graph.set(file, targets);
  }
  return graph;
}

/** Which layer a file is in; what each layer may import is `ALLOWED`. */
function layerOf(file: string): string {
  if (file.startsWith('core/types/')) return 'core/types';
  return file.split('/')[0] ?? file;
}

const ALLOWED: Record<string, string[]> = {
  'core/types': ['core/types'],
  core: ['core', 'core/types'],
  connectors: ['connectors', 'core', 'core/types'],
  adapters: ['adapters', 'core', 'core/types'],
  app: ['app', 'connectors', 'adapters', 'core', 'core/types'],
};

/** Every import that crosses a layer the wrong way: `core/x.ts -> connectors/y.ts`. */
export function layerViolations(graph: ImportGraph): string[] {
  const violations: string[] = [];
  for (const [file, targets] of graph) {
    const allowed = ALLOWED[layerOf(file)] ?? [];
    for (const target of targets) {
      if (target.startsWith('unresolved:') || !allowed.includes(layerOf(target))) {
        violations.push(`${file} -> ${target}`);
      }
    }
  }
  return violations;
}

/** Import circles: each strongly connected component of more than one file (Tarjan), files sorted. */
export function importCircles(graph: ImportGraph): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const circles: string[][] = [];
  let next = 0;
  const visit = (file: string): void => {
    index.set(file, next);
    low.set(file, next);
    next += 1;
    stack.push(file);
    onStack.add(file);
    for (const target of graph.get(file) ?? []) {
      if (!graph.has(target)) continue;
      if (!index.has(target)) {
        visit(target);
        low.set(file, Math.min(low.get(file) ?? 0, low.get(target) ?? 0));
      } else if (onStack.has(target)) {
        low.set(file, Math.min(low.get(file) ?? 0, index.get(target) ?? 0));
      }
    }
    if (low.get(file) !== index.get(file)) return;
    const component: string[] = [];
    let member: string | undefined;
    do {
      member = stack.pop();
      if (member === undefined) break;
      onStack.delete(member);
      component.push(member);
    } while (member !== file);
    if (component.length > 1) circles.push(component.sort());
  };
  for (const file of graph.keys()) if (!index.has(file)) visit(file);
  return circles;
}
