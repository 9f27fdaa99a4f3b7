import { validateChannelOptions, validateChannels } from '../connectors/validate';
import type { ConfigCheck } from '../core/config/load';
import { tlsSettingChecks } from '../core/security/tls';
import { HubError } from '../core/types';
import { pluginConfigIssues } from './plugins';

/**
 * What `hub validate` and `hub start` check beyond the core schema: the plug-in blocks (listed with
 * the core's unknown keys), channel types and channel blocks, and that every TLS certificate, key and
 * CA file can be read; `loadConfig` names them all at once.
 */
export const checkHubConfig: ConfigCheck = (config) => ({
  issues: pluginConfigIssues(config),
  errors: [
    () => validateChannels(config),
    () => validateChannelOptions(config),
    ...tlsSettingChecks(config),
  ].flatMap((check) => {
    try {
      check();
      return [];
    } catch (error) {
      if (error instanceof HubError) return [error];
      throw error;
    }
  }),
});
