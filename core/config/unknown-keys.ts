import type { z } from 'zod';
import type { ConfigIssue } from './issues';

/**
 * Keys a config file sets that its schema does not know: a typo (`drvier:`) would otherwise be
 * dropped by zod and the default used in its place. The schema is walked beside the value, so
 * every object schema is strict without being written so, defaults, prefaults and unions keep
 * their meaning, and a new plug-in's schema is covered by being registered. A `.loose()` object
 * leaves its extra keys to whoever checks them (a channel's or plug-in's own schema).
 */
export function unknownKeyIssues(
  schema: z.ZodType,
  value: unknown,
  options: {
    /** Check the top object even if it is loose, allowing these keys besides its own. */
    allow?: readonly string[];
    path?: readonly PropertyKey[];
  } = {},
): ConfigIssue[] {
  return walk(schema, value, options.path ?? [], options.allow);
}

/** "unknown key. Did you mean `driver`?", or the keys that are valid there when none is close. */
function unknownKeyMessage(key: string, known: readonly string[]): string {
  const close = closestKey(key, known);
  if (close) return `unknown key. Did you mean \`${close}\`?`;
  return known.length > 0
    ? `unknown key (valid here: ${known.join(', ')})`
    : 'unknown key (nothing is set here)';
}

/** The known key nearest to `key` (case ignored, a swap of two letters counts once), if near enough. */
export function closestKey(key: string, known: readonly string[]): string | undefined {
  const typed = key.toLowerCase();
  const allowed = typed.length <= 4 ? 1 : typed.length <= 8 ? 2 : 3;
  let best: { key: string; distance: number } | undefined;
  for (const candidate of known) {
    const distance = editDistance(typed, candidate.toLowerCase());
    if (distance <= allowed && (!best || distance < best.distance)) best = { key: candidate, distance };
  }
  return best?.key;
}

/** Damerau-Levenshtein (optimal string alignment): insert, delete, substitute, swap neighbours. */
function editDistance(a: string, b: string): number {
  const width = b.length + 1;
  // cells[i * width + j]: distance between the first i letters of a and the first j of b.
  const cells = new Array<number>((a.length + 1) * width).fill(0);
  const at = (i: number, j: number) => cells[i * width + j] ?? 0;
  for (let i = 0; i <= a.length; i++) {
    for (let j = 0; j <= b.length; j++) {
      if (i === 0 || j === 0) {
        cells[i * width + j] = i + j;
        continue;
      }
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, at(i - 2, j - 2) + 1);
      }
      cells[i * width + j] = best;
    }
  }
  return at(a.length, b.length);
}

/** The parts of zod v4's schema definitions (`_zod.def`) the walk reads. */
interface Def {
  type: string;
  innerType?: z.ZodType;
  in?: z.ZodType;
  getter?: () => z.ZodType;
  shape?: Record<string, z.ZodType>;
  catchall?: z.ZodType;
  element?: z.ZodType;
  valueType?: z.ZodType;
  options?: z.ZodType[];
  discriminator?: string;
  left?: z.ZodType;
  right?: z.ZodType;
}

const defOf = (schema: z.ZodType): Def => (schema as unknown as { _zod: { def: Def } })._zod.def;

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Wrappers whose keys are their inner schema's. */
const WRAPPERS = new Set(['optional', 'nullable', 'default', 'prefault', 'catch', 'readonly', 'nonoptional']);

function walk(
  schema: z.ZodType,
  value: unknown,
  path: readonly PropertyKey[],
  allow?: readonly string[],
): ConfigIssue[] {
  const def = defOf(schema);
  if (WRAPPERS.has(def.type) && def.innerType) return walk(def.innerType, value, path, allow);
  // A transform or refinement sees what its input schema accepted: the keys are the input's.
  if (def.type === 'pipe' && def.in) return walk(def.in, value, path, allow);
  if (def.type === 'lazy' && def.getter) return walk(def.getter(), value, path, allow);
  if (def.type === 'union' && def.options) return walkUnion(def, value, path);
  if (def.type === 'intersection' && def.left && def.right) {
    return [...walk(def.left, value, path, allow), ...walk(def.right, value, path, allow)];
  }
  if (def.type === 'array' && def.element && Array.isArray(value)) {
    const element = def.element;
    return value.flatMap((item, index) => walk(element, item, [...path, index]));
  }
  if (def.type === 'record' && def.valueType && isRecord(value)) {
    const valueType = def.valueType;
    return Object.entries(value).flatMap(([key, item]) => walk(valueType, item, [...path, key]));
  }
  if (def.type === 'object' && def.shape && isRecord(value)) return walkObject(def, value, path, allow);
  return [];
}

function walkObject(
  def: Def,
  value: Record<string, unknown>,
  path: readonly PropertyKey[],
  allow?: readonly string[],
): ConfigIssue[] {
  const shape = def.shape ?? {};
  const known = Object.keys(shape);
  const extraType = def.catchall ? defOf(def.catchall).type : 'never';
  const loose = extraType === 'unknown' || extraType === 'any';
  const issues: ConfigIssue[] = [];
  for (const [key, item] of Object.entries(value)) {
    const field = shape[key];
    if (field) issues.push(...walk(field, item, [...path, key]));
    else if (allow?.includes(key)) continue;
    else if (def.catchall && extraType !== 'never' && !loose) {
      issues.push(...walk(def.catchall, item, [...path, key]));
    } else if (!loose || allow) {
      const valid = [...new Set([...known, ...(allow ?? [])])];
      issues.push({ path: [...path, key], message: unknownKeyMessage(key, valid) });
    }
  }
  return issues;
}

/**
 * The option the value was meant for: by the discriminator where there is one, else the option
 * that accepts it with the fewest unknown keys (all options when none accepts it).
 */
function walkUnion(def: Def, value: unknown, path: readonly PropertyKey[]): ConfigIssue[] {
  const options = def.options ?? [];
  if (def.discriminator && isRecord(value)) {
    const tag = value[def.discriminator];
    const chosen = options.find((option) => {
      const field = objectShape(option)?.[def.discriminator as string];
      return field?.safeParse(tag).success;
    });
    return chosen ? walk(chosen, value, path) : [];
  }
  const accepting = options.filter((option) => option.safeParse(value).success);
  const candidates = (accepting.length > 0 ? accepting : options).map((option) => walk(option, value, path));
  return (
    candidates.reduce<ConfigIssue[] | undefined>(
      (fewest, issues) => (!fewest || issues.length < fewest.length ? issues : fewest),
      undefined,
    ) ?? []
  );
}

function objectShape(schema: z.ZodType): Record<string, z.ZodType> | undefined {
  const def = defOf(schema);
  if (WRAPPERS.has(def.type) && def.innerType) return objectShape(def.innerType);
  if (def.type === 'pipe' && def.in) return objectShape(def.in);
  return def.type === 'object' ? def.shape : undefined;
}
