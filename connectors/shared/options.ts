import { z } from 'zod';
import type { ChannelContext } from '../../core/channels/types';
import { channelSchema } from '../../core/config/schema';
import { unknownKeyIssues } from '../../core/config/unknown-keys';
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

/** The keys of every channel block (id, type, enabled, tenant); a channel's schema adds its own. */
const COMMON_KEYS = Object.keys(channelSchema.shape);

/**
 * A channel block through its schema: the options, or what is wrong as
 * `channel "<id>" (<type>) is not configured correctly:` and one line per key with its fix.
 * A key neither common nor the schema's is wrong too (a typo would leave a default in its place).
 */
export function checkChannelOptions<T extends z.ZodType>(
  config: ChannelContext['config'],
  schema: T,
  hints: Record<string, string>,
): { options: z.infer<T> } | { problems: string } {
  const unknown = unknownKeyIssues(schema, config, { allow: COMMON_KEYS });
  const parsed = schema.safeParse(config);
  if (parsed.success && unknown.length === 0) return { options: parsed.data };
  const issues = [...(parsed.success ? [] : parsed.error.issues), ...unknown];
  const lines = formatIssues(issues, { root: '(block)', hint: (key) => hints[key] });
  return {
    problems: `channel "${config.id}" (${config.type}) is not configured correctly:\n${lines}`,
  };
}
