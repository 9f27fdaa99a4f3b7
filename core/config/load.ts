import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { HubError } from '../types/errors';
import { type ConfigIssue, describeConfigIssues } from './issues';
import { type HubConfig, hubConfigSchema } from './schema';
import { unknownKeyIssues } from './unknown-keys';

const ENV_REF = /\$\{([A-Z0-9_]+)(?::-([^}]*))?\}/g;

/** Replace `${VAR}` and `${VAR:-default}` in every string of the parsed tree (never in keys). */
export function interpolateEnv(value: unknown, env: NodeJS.ProcessEnv, path: string[] = []): unknown {
  if (typeof value === 'string') {
    return value.replace(ENV_REF, (_match, name: string, fallback: string | undefined) => {
      const found = env[name];
      if (found !== undefined && found !== '') return found;
      if (fallback !== undefined) return fallback;
      throw new HubError(
        'config.env_missing',
        `${path.join('.') || '(root)'}: environment variable ${name} is not set. Fix: export ${name}=... or write \${${name}:-default}.`,
      );
    });
  }
  if (Array.isArray(value)) return value.map((item, i) => interpolateEnv(item, env, [...path, String(i)]));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, interpolateEnv(item, env, [...path, key])]),
    );
  }
  return value;
}

/**
 * What the core schema cannot check: the channel and plug-in blocks, known to app/ only. `issues`
 * are keyed from the config root and listed with the core's; `errors` keep their own words (a
 * channel block's). A config with several broken parts gets them all in one error.
 */
export type ConfigCheck = (config: HubConfig) => { issues: ConfigIssue[]; errors: HubError[] };

/** Validate an already-parsed config object (env interpolation included); unknown keys are errors. */
export function parseConfig(
  input: unknown,
  env: NodeJS.ProcessEnv = process.env,
  source = 'config',
  check?: ConfigCheck,
): HubConfig {
  const interpolated = interpolateEnv(input ?? {}, env);
  const unknown = unknownKeyIssues(hubConfigSchema, interpolated);
  const result = hubConfigSchema.safeParse(interpolated);
  if (!result.success) {
    const issues: ConfigIssue[] = [...result.error.issues, ...unknown];
    throw new HubError('config.invalid', describeConfigIssues(source, issues));
  }
  const config = result.data;
  const more = check?.(config) ?? { issues: [], errors: [] };
  const issues = [...unknown, ...more.issues];
  const errors = [
    ...(issues.length > 0 ? [new HubError('config.invalid', describeConfigIssues(source, issues))] : []),
    ...more.errors,
  ];
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new HubError('config.invalid', errors.map((e) => e.message).join('\n'));
  // PORT and HOST from the environment win over the file: the usual contract of hosting platforms.
  if (env.PORT) config.server.port = hubConfigSchema.shape.server.parse({ port: env.PORT }).port;
  if (env.HOST) config.server.host = env.HOST;
  return config;
}

export async function loadConfig(
  file: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
  check?: ConfigCheck,
): Promise<HubConfig> {
  if (!file) return parseConfig({}, env, 'defaults', check);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    throw new HubError('config.unreadable', `Cannot read config file ${file}. Fix: check the path.`, {
      cause,
    });
  }
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (cause) {
    const where = cause instanceof YAMLParseError ? ` at line ${cause.linePos?.[0].line}` : '';
    throw new HubError('config.yaml', `${file} is not valid YAML${where}: ${(cause as Error).message}`, {
      cause,
    });
  }
  return parseConfig(parsed, env, file, check);
}

const DEFAULT_CONFIG_FILE = 'config/hub.yaml';

/** The config a `hub` command runs with: `--config`, else $HUB_CONFIG, else config/hub.yaml when present, else built-in embedded defaults. */
export function loadCommandConfig(option: string | undefined, check?: ConfigCheck): Promise<HubConfig> {
  const file =
    option || process.env.HUB_CONFIG || (existsSync(DEFAULT_CONFIG_FILE) ? DEFAULT_CONFIG_FILE : undefined);
  return loadConfig(file, process.env, check);
}
