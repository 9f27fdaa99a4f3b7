import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { unknownKeyIssues } from '../config/unknown-keys';
import { formatIssues } from '../resilience/zod-issues';
import { HubError } from '../types/errors';
import { contextConfigSchema } from './context/window';
import { intentConfigSchema } from './intent/config';
import { policyConfigSchema } from './policy/policy';
import { entityPatternSchema } from './preprocess/entities';

/**
 * What a tenant configures about dialog: extra entity patterns, intents (rules, examples), the
 * policy's limits, the context budget, and where the flow files are. Meant to become the `dialog`
 * key of the hub config (`dialog: dialogConfigSchema.prefault({})` in config/schema.ts).
 */
export const dialogConfigSchema = z
  .object({
    /** Folder of flow files (one YAML state machine each). */
    flowsDir: z.string().default('config/flows'),
    entities: z.object({ patterns: z.array(entityPatternSchema).default([]) }).prefault({}),
    intents: intentConfigSchema.prefault({}),
    policy: policyConfigSchema,
    context: contextConfigSchema,
  })
  .prefault({});
export type DialogConfig = z.infer<typeof dialogConfigSchema>;

/** The dialog file validated; unknown keys are errors (a typo would leave a default in its place). */
export function parseDialogConfig(input: unknown, source = 'dialog config'): DialogConfig {
  const unknown = unknownKeyIssues(dialogConfigSchema, input ?? {});
  const result = dialogConfigSchema.safeParse(input ?? {});
  if (!result.success || unknown.length > 0) {
    const issues = [...(result.success ? [] : result.error.issues), ...unknown];
    throw new HubError(
      'config.invalid',
      `${source} is not a valid dialog config:\n${formatIssues(issues)}\nFix the keys above; config/dialog.yaml shows the keys (schema: core/dialog/config.ts).`,
    );
  }
  return result.data;
}

export async function loadDialogConfig(file: string): Promise<DialogConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    throw new HubError(
      'config.unreadable',
      `Cannot read dialog file ${file}. Fix: set dialog.file in the hub config (e.g. config/dialog.yaml).`,
      { cause },
    );
  }
  return parseDialogConfig(parseYaml(text), file);
}
