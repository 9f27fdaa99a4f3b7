import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Private PostgreSQL and Redis servers for fault tests: each on a free port in a temporary
 * directory, so a test may stop, restart or pause them. The machine's own servers (5432, 6379)
 * are shared by other tests and never touched.
 */

/** The newest PostgreSQL server binaries installed (Debian layout), or undefined. */
export function findPostgresBin(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).sort((a, b) => Number(b) - Number(a));
  return versions.map((v) => join(root, v, 'bin')).find((bin) => existsSync(join(bin, 'initdb')));
}

export const REDIS_SERVER = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find((path) =>
  existsSync(path),
);

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** A throw-away PostgreSQL cluster, run as the postgres user when the tests run as root. */
export class PrivatePostgres {
  readonly dir = mkdtempSync(join(tmpdir(), 'hub-private-pg-'));
  readonly data = join(this.dir, 'data');

  constructor(
    private readonly bin: string,
    readonly port: number,
  ) {}

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  get logFile(): string {
    return join(this.dir, 'log');
  }

  private run(tool: string, args: string[]): void {
    const command = join(this.bin, tool);
    const asRoot = process.getuid?.() === 0;
    execFileSync(asRoot ? 'runuser' : command, asRoot ? ['-u', 'postgres', '--', command, ...args] : args, {
      stdio: 'pipe',
      timeout: 60_000,
    });
  }

  init(): void {
    if (process.getuid?.() === 0) {
      const ids = (flag: string) => Number(execFileSync('id', [flag, 'postgres']).toString().trim());
      execFileSync('chown', [`${ids('-u')}:${ids('-g')}`, this.dir]);
    }
    chmodSync(this.dir, 0o700);
    this.run('initdb', ['-D', this.data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8']);
  }

  start(): void {
    const options = `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off`;
    this.run('pg_ctl', ['start', '-w', '-t', '60', '-D', this.data, '-l', this.logFile, '-o', options]);
  }

  stop(): void {
    this.run('pg_ctl', ['stop', '-w', '-m', 'fast', '-D', this.data]);
  }

  /** A fast restart: every session gets FATAL 57P01 (admin_shutdown), as in a real server restart. */
  restart(): void {
    this.stop();
    this.start();
  }

  destroy(): void {
    try {
      this.stop();
    } catch {
      // already stopped
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A certificate for a Redis that listens with TLS only (no plain port); clients need no certificate. */
export interface RedisTls {
  certFile: string;
  keyFile: string;
  caFile: string;
}

/**
 * A throw-away Redis with an append-only file, so a restart keeps every key, as in production;
 * with `tls`, it listens on `port` with TLS only.
 */
export class PrivateRedis {
  readonly dir = mkdtempSync(join(tmpdir(), 'hub-private-redis-'));
  private child?: ChildProcess;

  constructor(
    private readonly binary: string,
    readonly port: number,
    private readonly tls?: RedisTls,
  ) {}

  get url(): string {
    return `${this.tls ? 'rediss' : 'redis'}://127.0.0.1:${this.port}`;
  }

  private listenArgs(): string[] {
    if (!this.tls) return ['--port', String(this.port)];
    const { certFile, keyFile, caFile } = this.tls;
    return [
      ...['--port', '0', '--tls-port', String(this.port), '--tls-auth-clients', 'no'],
      ...['--tls-cert-file', certFile, '--tls-key-file', keyFile, '--tls-ca-cert-file', caFile],
    ];
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(): Promise<void> {
    const child = spawn(
      this.binary,
      [...this.listenArgs(), '--bind', '127.0.0.1', '--appendonly', 'yes', '--dir', this.dir, '--save', ''],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child = child;
    let output = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`redis-server did not start:\n${output}`)), 30_000);
      const onData = (chunk: Buffer) => {
        output += chunk;
        if (/Ready to accept connections/.test(output)) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited with ${code}:\n${output}`));
      });
    });
    child.stdout?.resume();
    child.stderr?.resume();
  }

  /** SIGTERM: Redis flushes its append-only file and exits. */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  /** Freeze the server (SIGSTOP): connections stay open and nothing answers, like a stalled host. */
  pause(): void {
    this.child?.kill('SIGSTOP');
  }

  resume(): void {
    this.child?.kill('SIGCONT');
  }

  async destroy(): Promise<void> {
    this.resume();
    await this.stop().catch(() => {});
    rmSync(this.dir, { recursive: true, force: true });
  }
}
