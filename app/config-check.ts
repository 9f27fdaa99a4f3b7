import { validateChannelOptions, validateChannels } from '../connectors/validate';
import type { ConfigCheck } from '../core/config/load';
import { inspectModelDir } from '../core/rag/onnx-embedder';
import { tlsSettingChecks } from '../core/security/tls';
import { HubError } from '../core/types';
import { pluginConfigIssues } from './plugins';

/**
 * What `hub validate` and `hub start` check beyond the core schema: the plug-in blocks (listed with
 * the core's unknown keys), channel types and channel blocks, that every TLS certificate, key and
 * CA file can be read, and that `knowledge.embedder.modelDir` holds a model; `loadConfig` names them
 * all at once.
 */
export const checkHubConfig: ConfigCheck = (config) => ({
  issues: pluginConfigIssues(config),
  errors: [
    () => validateChannels(config),
    () => validateChannelOptions(config),
    ...tlsSettingChecks(config),
    () => config.knowledge.embedder && inspectModelDir(config.knowledge.embedder),
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
