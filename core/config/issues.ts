import { formatIssues, type PathIssue } from '../resilience/zod-issues';

/** One problem in a config, with its path from the config root. */
export type ConfigIssue = PathIssue;

/** Every problem of a config with its key, then where the fix is documented. */
export function describeConfigIssues(source: string, issues: readonly ConfigIssue[]): string {
  return `${source} is not a valid hub config:\n${formatIssues(issues)}\nFix the keys above; config/hub.yaml shows every key with a comment.`;
}
