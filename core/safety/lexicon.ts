import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { safetyActionSchema } from '../config/safety-schema';
import { formatIssues } from '../resilience/zod-issues';
import { HubError } from '../types';

const bilingual = z.strictObject({ zh: z.string().min(1), en: z.string().min(1) });

/** A word, or a word with the other forms it is written in (pinyin, abbreviations, spellings). */
const entrySchema = z.union([
  z.string().min(1),
  z.strictObject({ word: z.string().min(1), forms: z.array(z.string().min(1)).default([]) }),
]);

const categorySchema = z.strictObject({
  /** What a hit in the customer's message does. */
  action: safetyActionSchema.default('refuse'),
  /** What a hit in a generated answer does; default: refuse unless `action` is flag. */
  output: safetyActionSchema.optional(),
  words: z.array(entrySchema).min(1),
});

const disclaimerSchema = z.strictObject({
  id: z.string().min(1),
  /** Intents whose answers carry it. */
  intents: z.array(z.string().min(1)).default([]),
  /** Words in the question or the answer that make it about this topic (matched like lexicon words). */
  topics: z.array(z.string().min(1)).default([]),
  text: bilingual,
});

/** One lexicon file (config/safety/*.yaml). */
export const lexiconFileSchema = z.strictObject({
  /** Only this tenant's conversations; absent: every tenant. */
  tenant: z.string().min(1).optional(),
  categories: z
    .record(z.string().regex(/^[a-z][a-z0-9_]*$/, 'use snake_case, e.g. gambling'), categorySchema)
    .default({}),
  disclaimers: z.array(disclaimerSchema).default([]),
});

export type LexiconFile = z.infer<typeof lexiconFileSchema>;
export type Disclaimer = z.infer<typeof disclaimerSchema>;

export interface LexiconEntry {
  category: string;
  /** The word as the lexicon writes it (reported with a hit). */
  word: string;
  /** The word and each of its forms. */
  forms: string[];
  action: z.infer<typeof safetyActionSchema>;
  output: z.infer<typeof safetyActionSchema>;
  tenant?: string;
}

export function entriesOf(file: LexiconFile): LexiconEntry[] {
  return Object.entries(file.categories).flatMap(([category, spec]) =>
    spec.words.map((entry) => {
      const word = typeof entry === 'string' ? entry : entry.word;
      const forms = typeof entry === 'string' ? [entry] : [entry.word, ...entry.forms];
      return {
        category,
        word,
        forms,
        action: spec.action,
        output: spec.output ?? (spec.action === 'flag' ? 'flag' : 'refuse'),
        ...(file.tenant ? { tenant: file.tenant } : {}),
      };
    }),
  );
}

/** Reads and checks one lexicon file; a mistake stops start-up with the file and the path in it. */
export async function loadLexiconFile(path: string): Promise<LexiconFile> {
  let raw: unknown;
  try {
    raw = parseYaml(await readFile(path, 'utf8'));
  } catch (error) {
    throw new HubError('safety.lexicon_unreadable', `Cannot read the safety lexicon ${path}`, {
      cause: error,
    });
  }
  const parsed = lexiconFileSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    throw new HubError('safety.lexicon_invalid', `${path}:\n${formatIssues(parsed.error)}`);
  }
  return parsed.data;
}
