import { randomUUID } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { z } from 'zod';
import { logger } from '../../log';
import { HubError } from '../../types/errors';
import type { IntentConfig } from './config';

/**
 * Training examples learned from reviewed turns (`dialog.examplesFile`, config/intent-examples.yaml):
 * a supervisor labels a misclassified turn with its right intent on the console's Intents page, an
 * admin or supervisor approves it, and its text, personal data masked, is written here. The file is
 * the hub's, beside the hand-written dialog file: the hub rewrites it whole from the approved labels
 * in the database (`hub intents labels export` does the same), so hand edits belong in dialog.yaml.
 */
export const learnedExamplesSchema = z
  .object({
    /** Intent name → example utterances, in the order they were approved. */
    examples: z.record(z.string(), z.array(z.string().min(1))).default({}),
  })
  .strict();
export type LearnedExamples = z.infer<typeof learnedExamplesSchema>['examples'];

const HEADER = [
  'Intent training examples learned from reviewed turns (console: Intents, review queue).',
  'Written by the hub on each approval and by `hub intents labels export`; personal data is masked.',
  'The classifier trains on them beside the examples of the dialog file, at start-up and on reload.',
].join('\n');

/** The file's examples; an absent file is none (no label approved yet). A malformed one stops the caller. */
export async function loadLearnedExamples(file: string): Promise<LearnedExamples> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new HubError('config.unreadable', `Cannot read the learned intent examples ${file}.`, {
      cause: error,
    });
  }
  const parsed = learnedExamplesSchema.safeParse(parseYaml(text) ?? {});
  if (!parsed.success) {
    throw new HubError(
      'config.invalid',
      `${file} is not a file of learned intent examples ({examples: {<intent>: [text, ...]}}). Fix: run \`hub intents labels export\` to write it again from the approved labels.`,
    );
  }
  return parsed.data.examples;
}

/**
 * The intents with the learned examples added to their own (duplicates dropped). An intent the
 * dialog file no longer defines keeps its learned examples in the file but trains nothing: logged.
 */
export function withLearnedExamples(config: IntentConfig, learned: LearnedExamples): IntentConfig {
  const known = new Set(config.intents.map((i) => i.name));
  const orphans = Object.keys(learned).filter((name) => !known.has(name));
  if (orphans.length > 0) {
    logger.warn(
      { event: 'intent.learned_orphans', intents: orphans },
      `learned examples of intents the dialog file does not define are left out: ${orphans.join(', ')}`,
    );
  }
  return {
    ...config,
    intents: config.intents.map((intent) => {
      const extra = learned[intent.name] ?? [];
      if (extra.length === 0) return intent;
      return { ...intent, examples: [...new Set([...intent.examples, ...extra])] };
    }),
  };
}

/** Writes the file whole, aside first then renamed into place, so a reader never sees half of it. */
export async function writeLearnedExamples(file: string, examples: LearnedExamples): Promise<void> {
  const sorted = Object.fromEntries(Object.entries(examples).sort(([a], [b]) => a.localeCompare(b)));
  const body = stringifyYaml({ examples: sorted }, { lineWidth: 0 });
  const text = `${HEADER.split('\n')
    .map((line) => `# ${line}`)
    .join('\n')}\n${body}`;
  const aside = `${file}.${randomUUID()}.tmp`;
  await writeFile(aside, text, 'utf8');
  await rename(aside, file);
}
