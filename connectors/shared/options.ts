import { z } from 'zod';
import { HubError } from '../../core/types';
import type { ChannelContext } from '../types';

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
  const parsed = schema.safeParse(context.config);
  if (parsed.success) return parsed.data;
  const { id, type } = context.config;
  const lines = parsed.error.issues.map((issue) => {
    const key = issue.path.join('.') || '(block)';
    const hint = hints[String(issue.path[0])];
    return `  - ${key}: ${issue.message}${hint ? `. Fix: ${hint}` : ''}`;
  });
  throw new HubError(
    'config.invalid',
    `channel "${id}" (${type}) is not configured correctly:\n${lines.join('\n')}\n` +
      'Fix the channel block in the hub config; README.md has a section per channel.',
  );
}
