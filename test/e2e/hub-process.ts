import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';

export interface HubProcess {
  url: string;
  child: ChildProcess;
  output: () => string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

const ROOT = join(import.meta.dirname, '..', '..');

/** Write a config object to a temporary YAML file, as an operator would. */
export function writeConfig(config: Record<string, unknown>): string {
  const dir = mkdtempSync(join(tmpdir(), 'hub-e2e-'));
  const file = join(dir, 'hub.yaml');
  writeFileSync(file, stringify(config));
  return file;
}

/**
 * Start `hub start` as a child process, the way a user does, and wait until it prints where it
 * listens (or, for a worker-only process, that its workers run).
 */
export async function startHubProcess(
  configFile: string,
  args: string[] = [],
  env: NodeJS.ProcessEnv = {},
): Promise<HubProcess> {
  const child = spawn(
    process.execPath,
    [join(ROOT, 'bin', 'hub.mjs'), 'start', '--config', configFile, ...args],
    {
      cwd: ROOT,
      env: {
        ...process.env,
        NODE_ENV: 'test',
        LOG_LEVEL: process.env.HUB_TEST_LOG_LEVEL ?? 'warn',
        PORT: '0',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout?.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    output += chunk;
  });
  const url = await new Promise<string>((resolve, reject) => {
    // Generous: on a loaded 2-core machine the first start transpiles the sources and boots PGlite.
    const timer = setTimeout(() => {
      // Nobody holds a handle to a hub that never said it started: end it, or it outlives the test.
      child.kill('SIGKILL');
      reject(new Error(`hub did not start in time:\n${output}`));
    }, 120_000);
    const check = () => {
      const listening = /Hub listening on (\S+)/.exec(output);
      if (listening?.[1] || /Hub workers running/.test(output)) {
        clearTimeout(timer);
        resolve(listening?.[1] ?? '');
      }
    };
    child.stdout?.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`hub exited with ${code} before it started:\n${output}`));
    });
  });
  return {
    url,
    child,
    output: () => output,
    stop: (signal = 'SIGTERM') =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
        child.once('exit', (code) => resolve(code));
        child.kill(signal);
      }),
  };
}

export interface RestReply {
  id: string;
  text: string;
  recipient_id: string;
  citations?: Array<{ id: string; title: string; source: string }>;
  locale?: string;
  source?: string;
}

export async function ask(
  url: string,
  sender: string,
  message: string,
  extra: Record<string, unknown> = {},
): Promise<{ status: number; replies: RestReply[]; eventId: string | null }> {
  const response = await fetch(`${url}/webhooks/rest`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ sender, message, ...extra }),
  });
  const body = (await response.json()) as RestReply[];
  return { status: response.status, replies: body, eventId: response.headers.get('x-hub-event-id') };
}

/** FAQ questions of the shipped knowledge base, in both languages, for load in the e2e tests. */
export const SAMPLE_QUESTIONS = [
  'How long does shipping take?',
  '怎么退货？',
  'Can I get an invoice?',
  '退款多久到账？',
  'Which payment methods do you accept?',
  '怎么修改收货地址？',
];
