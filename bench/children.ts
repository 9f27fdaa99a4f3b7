import { type ChildProcess, spawn } from 'node:child_process';

export interface Service {
  url: string;
  child: ChildProcess;
  pid: number;
  output: () => string;
  stop(): Promise<number | null>;
}

export interface SpawnOptions {
  args: string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Matches the line that says where the service listens; group 1 is its URL. */
  ready: RegExp;
  startTimeoutMs: number;
  stopTimeoutMs?: number;
}

/** The Node flags of the hub's process in `npm start` (package.json) and the image (Dockerfile ENV). */
export const HUB_NODE_OPTIONS = '--max-semi-space-size=4';
/** glibc's trim threshold the same way. */
export const HUB_MALLOC_TRIM_THRESHOLD = '131072';

/**
 * The environment `npm start` and the image give the hub: benches run the hub so, to measure what
 * is deployed. NODE_OPTIONS or MALLOC_TRIM_THRESHOLD_ set by whoever runs the bench win (to compare
 * settings; they then apply to the bench's own process too).
 */
export function hubRuntimeEnv(): { NODE_OPTIONS: string; MALLOC_TRIM_THRESHOLD_: string } {
  return {
    NODE_OPTIONS: process.env.NODE_OPTIONS ?? HUB_NODE_OPTIONS,
    MALLOC_TRIM_THRESHOLD_: process.env.MALLOC_TRIM_THRESHOLD_ ?? HUB_MALLOC_TRIM_THRESHOLD,
  };
}

/** Start `node <args>` and wait until it prints its URL; output is kept (bounded) for error reports. */
export async function startService(name: string, options: SpawnOptions): Promise<Service> {
  const child = spawn(process.execPath, options.args, {
    cwd: options.cwd,
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-64 * 1024);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} did not start within ${options.startTimeoutMs} ms:\n${output}`));
    }, options.startTimeoutMs);
    const check = () => {
      const match = options.ready.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        child.stdout?.off('data', check);
        resolve(match[1]);
      }
    };
    child.stdout?.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code} before it started:\n${output}`));
    });
  });

  return {
    url,
    child,
    pid: child.pid ?? -1,
    output: () => output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const timeout = new Promise<'timeout'>((resolve) =>
        setTimeout(() => resolve('timeout'), options.stopTimeoutMs ?? 10_000).unref(),
      );
      const result = await Promise.race([exited, timeout]);
      if (result !== 'timeout') return result;
      child.kill('SIGKILL');
      return exited;
    },
  };
}
