import type { z } from 'zod';

export interface IssueLine {
  /** Dotted key path, or the `root` label for an issue with the whole value. */
  path: string;
  message: string;
  /** The top-level key the issue is under ('' for the whole value). */
  topKey: string;
}

/** One problem with its key path: a zod issue, or one a check found by hand. */
export interface PathIssue {
  path: readonly PropertyKey[];
  message: string;
}

export type Issues = z.ZodError | readonly PathIssue[];

/** Issues as key path + message, the shape every config and payload error shows. */
export function issueLines(issues: Issues, root = '(root)'): IssueLine[] {
  const list: readonly PathIssue[] = 'issues' in issues ? issues.issues : issues;
  return list.map((issue) => ({
    path: issue.path.map(String).join('.') || root,
    message: issue.message,
    topKey: String(issue.path[0] ?? ''),
  }));
}

/**
 * One `  - key: message` line per issue, for a config error an operator reads; `hint` appends a
 * fix by the issue's top-level key.
 */
export function formatIssues(
  issues: Issues,
  options: { root?: string; hint?: (topKey: string) => string | undefined } = {},
): string {
  return issueLines(issues, options.root)
    .map(({ path, message, topKey }) => {
      const hint = options.hint?.(topKey);
      return `  - ${path}: ${message}${hint ? `. Fix: ${hint}` : ''}`;
    })
    .join('\n');
}
