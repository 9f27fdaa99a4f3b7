/** One problem in a config, with its path from the config root. */
export interface ConfigIssue {
  path: readonly PropertyKey[];
  message: string;
}

/** Every problem of a config with its key, then where the fix is documented. */
export function describeConfigIssues(source: string, issues: readonly ConfigIssue[]): string {
  const lines = issues.map((issue) => {
    const key = issue.path.map(String).join('.') || '(root)';
    return `  - ${key}: ${issue.message}`;
  });
  return `${source} is not a valid hub config:\n${lines.join('\n')}\nFix the keys above; config/hub.yaml shows every key with a comment.`;
}
