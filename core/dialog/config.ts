import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
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

export function parseDialogConfig(input: unknown, source = 'dialog config'): DialogConfig {
  const result = dialogConfigSchema.safeParse(input ?? {});
  if (!result.success) {
    throw new HubError(
      'config.invalid',
      `${source} is not a valid dialog config:\n${formatIssues(result.error)}`,
    );
  }
  return result.data;
}

export async function loadDialogConfig(file: string): Promise<DialogConfig> {
  return parseDialogConfig(parseYaml(await readFile(file, 'utf8')), file);
}
