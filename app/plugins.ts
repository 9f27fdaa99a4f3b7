import { type ErpRegistry, erps } from '../adapters/erp';
import { type HelpdeskRegistry, helpdesks, ticketingIssues } from '../adapters/ticketing';
import { type ConfigIssue, describeConfigIssues } from '../core/config/issues';
import type { HubConfig } from '../core/config/schema';
import { type RetrieverRegistry, retrievers } from '../core/rag/retrievers';
import { HubError } from '../core/types';

/** The ERPs, helpdesks and retrievers a hub can be configured with. */
export interface Plugins {
  erps: ErpRegistry;
  helpdesks: HelpdeskRegistry;
  retrievers: RetrieverRegistry;
}

export const builtinPlugins: Plugins = { erps, helpdesks, retrievers };

/** Problems in the plug-in blocks of `erp:`, `ticketing:` and `knowledge:`, keyed from the config root. */
export function pluginConfigIssues(config: HubConfig, plugins: Plugins = builtinPlugins): ConfigIssue[] {
  const under = (section: string, issues: ConfigIssue[]) =>
    issues.map((issue) => ({ ...issue, path: [section, ...issue.path] }));
  return [
    ...under('erp', plugins.erps.issues(config.erp)),
    ...under('ticketing', ticketingIssues(config.ticketing, plugins.helpdesks)),
    ...under('knowledge', plugins.retrievers.issues(config.knowledge)),
  ];
}

/**
 * Every broken plug-in block named at once, before anything starts (start-up and `hub validate`):
 * the core schema checks only the generic keys; each chosen descriptor checks its own block.
 */
export function validatePlugins(
  config: HubConfig,
  plugins: Plugins = builtinPlugins,
  source = 'config',
): void {
  const issues = pluginConfigIssues(config, plugins);
  if (issues.length > 0) throw new HubError('config.invalid', describeConfigIssues(source, issues));
}
