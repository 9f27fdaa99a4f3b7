import type { z } from 'zod';

export interface IssueLine {
  /** Dotted key path, or the `root` label for an issue with the whole value. */
  path: string;
  message: string;
  /** The top-level key the issue is under ('' for the whole value). */
  topKey: string;
}

/** A zod error's issues as key path + message, the shape every config and payload error shows. */
export function issueLines(error: z.ZodError, root = '(root)'): IssueLine[] {
  return error.issues.map((issue) => ({
    path: issue.path.join('.') || root,
    message: issue.message,
    topKey: String(issue.path[0] ?? ''),
  }));
}

/**
 * One `  - key: message` line per issue, for a config error an operator reads; `hint` appends a
 * fix by the issue's top-level key.
 */
export function formatIssues(
  error: z.ZodError,
  options: { root?: string; hint?: (topKey: string) => string | undefined } = {},
): string {
  return issueLines(error, options.root)
    .map(({ path, message, topKey }) => {
      const hint = options.hint?.(topKey);
      return `  - ${path}: ${message}${hint ? `. Fix: ${hint}` : ''}`;
    })
    .join('\n');
}
