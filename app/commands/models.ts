import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { stringify } from 'yaml';
import type { HubConfig } from '../../core/config/schema';
import { ADMIN_TOKEN_ENV } from '../../core/http/admin-auth';
import type { ModelsStatus, VersionStatus } from '../../core/llm';
import { findKnownModel, KNOWN_MODELS, type KnownModel } from '../../core/rag/model-catalog';
import { type PullProgress, parseChecksums, pullModel } from '../../core/rag/model-pull';
import { HubError } from '../../core/types';

/**
 * `hub models status | reset <model>`: the canary release of `llm.models` as a running hub sees it.
 * The split, windows and rollbacks live in the hub (in Redis when it runs on Redis), so the command
 * asks the hub's admin route (`/admin/models`) rather than reading the config.
 * `hub models pull <name>`: a known sentence-embedding model for `knowledge.embedder`, checked file by file.
 */
export function registerModelCommands(
  program: Command,
  loadConfig: (file: string | undefined) => Promise<HubConfig>,
): void {
  const models = program.command('models').description('Model versions, the canary split and its rollback');
  const target = async (options: { url?: string; config?: string }) =>
    options.url ?? process.env.HUB_URL ?? hubUrlOf(await loadConfig(options.config));

  models
    .command('status')
    .description('Each model, its versions, configured and effective split, window counts, rollback')
    .option('-c, --config <file>', 'hub config (YAML), for the hub address')
    .option('--url <url>', 'the running hub (default: HUB_URL, else server.host and server.port)')
    .option('--json', 'print the status as JSON')
    .action(async (options: { url?: string; config?: string; json?: boolean }) => {
      const status = (await callHub(await target(options), 'GET', '/admin/models')) as ModelsStatus;
      console.log(options.json ? JSON.stringify(status, null, 2) : formatModelsStatus(status));
    });

  models
    .command('reset')
    .description("Lift a canary's rollback: it gets its configured share again, with an empty window")
    .argument('<model>', 'the stable model name (llm.models[].name) whose canary was rolled back')
    .option('-c, --config <file>', 'hub config (YAML), for the hub address')
    .option('--url <url>', 'the running hub (default: HUB_URL, else server.host and server.port)')
    .action(async (model: string, options: { url?: string; config?: string }) => {
      const path = `/admin/models/${encodeURIComponent(model)}/reset`;
      const { reset } = (await callHub(await target(options), 'POST', path)) as { reset: boolean };
      console.log(reset ? `${model}: rollback lifted` : `${model}: was not rolled back; nothing to do`);
    });

  models
    .command('pull')
    .description(
      `Download a sentence-embedding model for knowledge.embedder at a pinned commit and check its SHA-256 sums (${KNOWN_MODELS.map((m) => m.name).join(', ')})`,
    )
    .argument('<name>', 'a known model')
    .option('--dir <dir>', 'the model folder to create (default .hub-data/models/<name>)')
    .option('--revision <commit>', 'another repository commit than the pinned one (needs --checksums)')
    .option('--checksums <file>', 'sha256sum lines ("<sha256>  <path>") for the files at --revision')
    .option('--force', 'replace an existing folder once the new files are checked')
    .action(
      async (
        name: string,
        options: { dir?: string; revision?: string; checksums?: string; force?: boolean },
      ) => {
        const model = findKnownModel(name);
        if (!model) {
          throw new HubError(
            'models.unknown',
            `No known model "${name}". Known: ${KNOWN_MODELS.map((m) => `${m.name} (${m.repo})`).join(', ')}.`,
          );
        }
        const dir = path.resolve(options.dir ?? path.join('.hub-data', 'models', model.name));
        const checksums = options.checksums
          ? parseChecksums(await readFile(options.checksums, 'utf8'))
          : undefined;
        console.error(`${model.name}: ${model.about} (${model.licence}), from ${model.repo}`);
        const result = await pullModel(model, {
          dir,
          force: options.force,
          ...(options.revision ? { revision: options.revision } : {}),
          ...(checksums ? { checksums } : {}),
          onProgress: progressPrinter((line) => console.error(line)),
        });
        console.error(`${model.name}@${result.revision.slice(0, 12)} is in ${result.dir}`);
        console.log(embedderSnippet(model, path.relative(process.cwd(), result.dir) || '.'));
      },
    );
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

/** One line when a file starts, one per tenth of it (or per 16 MiB when its size is unknown), one when checked. */
export function progressPrinter(print: (line: string) => void): (event: PullProgress) => void {
  let step = 0;
  return (event) => {
    if (event.type === 'file') {
      step = 0;
      print(`  ${event.path}: downloading`);
    } else if (event.type === 'bytes') {
      const reached = event.total
        ? Math.floor((event.received / event.total) * 10)
        : Math.floor(event.received / (16 * 2 ** 20));
      if (reached > step) {
        step = reached;
        print(`  ${event.path}: ${mib(event.received)}${event.total ? ` / ${mib(event.total)}` : ''}`);
      }
    } else {
      print(`  ${event.path}: ${mib(event.bytes)}, SHA-256 ${event.sha256.slice(0, 16)}… checked`);
    }
  };
}

/** The config block that uses a pulled model with the settings it was trained for. */
export function embedderSnippet(model: KnownModel, dir: string): string {
  return stringify({ knowledge: { embedder: { modelDir: dir, ...model.embedder } } }).trimEnd();
}

/** The address a hub started with this config listens on, as seen from the same machine. */
export function hubUrlOf(config: HubConfig): string {
  const { host, port, tls } = config.server;
  const local = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return `${tls ? 'https' : 'http'}://${local.includes(':') ? `[${local}]` : local}:${port}`;
}

async function callHub(url: string, method: 'GET' | 'POST', path: string): Promise<unknown> {
  const token = process.env[ADMIN_TOKEN_ENV];
  let response: Response;
  try {
    response = await fetch(new URL(path, url), {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(method === 'POST' ? { 'content-type': 'application/json' } : {}),
      },
      ...(method === 'POST' ? { body: '{}' } : {}),
    });
  } catch (cause) {
    throw new HubError(
      'models.hub_unreachable',
      `No hub answers at ${url} (${(cause as Error).message}). Start it with \`hub start\`, or pass --url / HUB_URL.`,
      { cause },
    );
  }
  const body = (await response.json().catch(() => ({}))) as { error?: { message?: string } };
  if (!response.ok) {
    throw new HubError(
      'models.refused',
      `${method} ${path} answered ${response.status}: ${body.error?.message ?? response.statusText}`,
    );
  }
  return body;
}

const percent = (share: number) => `${Math.round(share * 1000) / 10}%`;

function versionLine(v: VersionStatus): string {
  const window = v.window
    ? `requests=${v.window.requests} errors=${v.window.errors} fallbacks=${v.window.fallbacks}`
    : 'not counted (no canary)';
  const kind = v.canary ? 'canary' : 'stable';
  return `  ${kind}  ${v.version}  (${v.endpoint}: ${v.served})  split ${percent(v.configuredShare)} configured, ${percent(v.effectiveShare)} effective  window ${window}`;
}

export function formatModelsStatus(status: ModelsStatus): string {
  const rule = status.rollback;
  const lines = [
    `rollback rule: error rate > ${percent(rule.maxErrorRate)} or fallback rate > ${percent(rule.maxFallbackRate)} over ${rule.windowMs / 1000}s, judged from ${rule.minRequests} requests`,
  ];
  if (status.models.length === 0) lines.push('llm.models is not set: one endpoint (llm.baseUrl), no canary');
  for (const model of status.models) {
    lines.push(`${model.model} (${model.role})`);
    lines.push(...model.versions.map(versionLine));
    const rollback = model.rollback;
    if (rollback) {
      const w = rollback.window;
      lines.push(
        `  ROLLED BACK ${rollback.version} at ${rollback.at}: ${rollback.reason} (${w.errors} errors, ${w.fallbacks} fallbacks in ${w.requests} requests); lift with \`hub models reset ${model.model}\``,
      );
    } else if (model.versions.some((v) => v.canary)) {
      lines.push('  canary live');
    }
  }
  return lines.join('\n');
}
