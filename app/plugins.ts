import { type ErpRegistry, erps } from '../adapters/erp';
import { type HelpdeskRegistry, helpdesks, ticketingIssues } from '../adapters/ticketing';
import { type ConfigIssue, describeConfigIssues } from '../core/config/issues';
import { formatOnlineLine, type OnlineOutcome, runOnlineCheck } from '../core/config/online';
import type { AnyPluginDescriptor, PluginRegistry, PluginSection } from '../core/config/plugins';
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

export interface PluginOnlineResult extends OnlineOutcome {
  /** The config section: erp, ticketing or knowledge. */
  section: string;
  /** The chosen plug-in's name. */
  type: string;
}

/**
 * `hub validate --online` for the configured ERP, helpdesk and retriever, side by side, each with
 * the check its descriptor names, after the channels and in the same words.
 */
export function checkPluginsOnline(
  config: HubConfig,
  options: { plugins?: Plugins; timeoutMs?: number } = {},
): Promise<PluginOnlineResult[]> {
  const plugins = options.plugins ?? builtinPlugins;
  const check = async <D extends AnyPluginDescriptor>(
    registry: PluginRegistry<D>,
    section: PluginSection,
  ): Promise<PluginOnlineResult> => {
    const type = String(section[registry.selector]);
    // The check takes what its own schema parsed; resolve() fails with the config problem otherwise.
    const outcome = await runOnlineCheck(
      registry.get(type)?.online,
      () => registry.resolve(section).options as never,
      {
        block: section,
        timeoutMs: options.timeoutMs,
      },
    );
    return { section: registry.section, type, ...outcome };
  };
  return Promise.all([
    check(plugins.erps, config.erp),
    check(plugins.helpdesks, config.ticketing),
    check(plugins.retrievers, config.knowledge),
  ]);
}

/** `erp (odoo): ok — …`, `ticketing (zendesk): FAILED: …`, `knowledge (embedded): skipped (…)`. */
export function formatPluginOnlineResult(result: PluginOnlineResult): string {
  return formatOnlineLine(result.section, result.type, result);
}
