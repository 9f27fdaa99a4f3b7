/**
 * What the content-safety filters catch: `npm run bench:safety`.
 *
 * Runs the finance-demo tenant's lexicon (config/safety/*.yaml) and the prompt-injection rules over
 * bench/data/safety-inputs.jsonl (100 inputs in English and Chinese, labelled with the category
 * they should be caught as, or "clean") and over every customer query of knowledge/eval/*.jsonl
 * (ordinary questions: every hit there is a false positive). Prints recall per category, the false
 * positives, and the time of one check (lexicon + injection rules) in µs.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../core/config/load';
import { injectionRule, SafetyKit } from '../core/safety';

interface Row {
  text: string;
  language: string;
  expected: string;
}

const readJsonl = <T>(path: string): T[] =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line) as T);

const kit = await SafetyKit.load(parseConfig({}, {}).safety);
const { matcher } = kit.forTenant('finance-demo');
const detect = (text: string): string[] => {
  const found = matcher.scan(text).map((hit) => hit.category);
  if (injectionRule(text)) found.push('prompt_injection');
  return found;
};

const rows = readJsonl<Row>(join(import.meta.dirname, 'data/safety-inputs.jsonl'));
const byCategory = new Map<string, { total: number; caught: number; missed: string[] }>();
const falsePositives: string[] = [];
for (const row of rows) {
  const found = detect(row.text);
  if (row.expected === 'clean') {
    if (found.length) falsePositives.push(`${row.text} → ${found.join(', ')}`);
    continue;
  }
  const entry = byCategory.get(row.expected) ?? { total: 0, caught: 0, missed: [] };
  entry.total++;
  if (found.includes(row.expected)) entry.caught++;
  else entry.missed.push(found.length ? `${row.text} (as ${found.join(', ')})` : row.text);
  byCategory.set(row.expected, entry);
}

console.log(`Labelled inputs: ${rows.length} (bench/data/safety-inputs.jsonl), tenant finance-demo\n`);
console.log('category              caught/total  recall  missed');
let caught = 0;
let total = 0;
for (const [category, entry] of [...byCategory].sort()) {
  caught += entry.caught;
  total += entry.total;
  const recall = ((entry.caught / entry.total) * 100).toFixed(1);
  console.log(
    `${category.padEnd(22)}${`${entry.caught}/${entry.total}`.padStart(12)}  ${recall.padStart(5)} %  ${entry.missed.join(' | ')}`,
  );
}
console.log(
  `${'all'.padEnd(22)}${`${caught}/${total}`.padStart(12)}  ${((caught / total) * 100).toFixed(1).padStart(5)} %`,
);
const clean = rows.filter((r) => r.expected === 'clean').length;
console.log(`\nFalse positives among the ${clean} labelled clean inputs: ${falsePositives.length}`);
for (const line of falsePositives) console.log(`  ${line}`);

/** labelled.jsonl rows are objects with `query`; the others are arrays [language, query, ...]. */
const queryOf = (row: unknown): string =>
  Array.isArray(row) ? String(row[1]) : String((row as { query: string }).query);

const evalDir = join(import.meta.dirname, '../knowledge/eval');
const queries = readdirSync(evalDir)
  .filter((f) => f.endsWith('.jsonl'))
  .flatMap((f) => readJsonl<unknown>(join(evalDir, f)).map(queryOf));
const evalHits = queries.map((q) => [q, detect(q)] as const).filter(([, found]) => found.length);
console.log(
  `False positives among the ${queries.length} customer queries of knowledge/eval: ${evalHits.length}`,
);
for (const [q, found] of evalHits) console.log(`  ${q} → ${found.join(', ')}`);

const texts = [...rows.map((r) => r.text), ...queries];
for (const text of texts) detect(text);
const rounds = 20;
const started = process.hrtime.bigint();
for (let i = 0; i < rounds; i++) for (const text of texts) detect(text);
const perCheckUs = Number(process.hrtime.bigint() - started) / 1000 / (rounds * texts.length);
const avgChars = texts.reduce((n, t) => n + t.length, 0) / texts.length;
console.log(
  `\nOne check (lexicon of ${matcher.size} forms + injection rules), mean over ${rounds} × ${texts.length} texts of ${avgChars.toFixed(0)} characters: ${perCheckUs.toFixed(1)} µs`,
);
