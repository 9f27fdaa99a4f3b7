import { z } from 'zod';
import type { ChannelContext } from '../../core/channels/types';
import { formatIssues } from '../../core/resilience/zod-issues';
import { HubError } from '../../core/types';

/** Booleans may come from `${ENV}` interpolation as strings ("true", "0", "yes"). */
export const flag = z.union([z.boolean(), z.stringbool()]);

/**
 * Validate a channel block at start-up, failing with every problem and how to fix it
 * (style rule 8). `hints` adds a per-key fix, e.g. which environment variable to set.
 */
export function parseChannelOptions<T extends z.ZodType>(
  context: Pick<ChannelContext, 'config'>,
  schema: T,
  hints: Record<string, string> = {},
): z.infer<T> {
  const checked = checkChannelOptions(context.config, schema, hints);
  if ('options' in checked) return checked.options;
  throw new HubError(
    'config.invalid',
    `${checked.problems}\nFix the channel block in the hub config; README.md has a section per channel.`,
  );
}

/**
 * A channel block through its schema: the options, or what is wrong as
 * `channel "<id>" (<type>) is not configured correctly:` and one line per key with its fix.
 */
export function checkChannelOptions<T extends z.ZodType>(
  config: ChannelContext['config'],
  schema: T,
  hints: Record<string, string>,
): { options: z.infer<T> } | { problems: string } {
  const parsed = schema.safeParse(config);
  if (parsed.success) return { options: parsed.data };
  const lines = formatIssues(parsed.error, { root: '(block)', hint: (key) => hints[key] });
  return {
    problems: `channel "${config.id}" (${config.type}) is not configured correctly:\n${lines}`,
  };
}
