import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster, Redis } from 'ioredis';

/**
 * A real Redis Cluster for the tests: three masters with one replica each, on free local ports,
 * formed with `redis-cli --cluster create`. A short node timeout lets a replica take over within
 * a couple of seconds after its master is killed. One per test file: starting takes a few seconds.
 */
export interface TestCluster {
  /** `127.0.0.1:port` of every node, for `redis.cluster.nodes`. */
  readonly nodes: string[];
  /** A client for the test's own reads and clean-up. */
  readonly client: Cluster;
  /** Delete every key whose name contains `fragment`, on every master. */
  deleteKeys(fragment: string): Promise<void>;
  /** SIGKILL the master serving `key`'s slot and wait until its replica serves it; returns the killed port. */
  killMasterOf(key: string): Promise<number>;
  stop(): Promise<void>;
}

/** Whether this machine has the Redis binaries the cluster needs; the tests skip (and say why) without them. */
export const redisClusterAvailable =
  spawnSync('redis-server', ['--version']).status === 0 && spawnSync('redis-cli', ['--version']).status === 0;
export const REDIS_CLUSTER_SKIP_REASON =
  'redis-server and redis-cli are not installed: Redis Cluster tests skipped';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // Not up yet.
    }
    if (Date.now() > deadline) throw new Error(`Redis Cluster: timed out waiting for ${what}`);
    await sleep(100);
  }
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** Ports whose cluster bus port (port + 10000) is free too. */
async function freePorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < count) {
    const port = 20_000 + Math.floor(Math.random() * 10_000);
    if (ports.includes(port)) continue;
    if ((await portFree(port)) && (await portFree(port + 10_000))) ports.push(port);
  }
  return ports;
}

/** Which node (`host:port`) is master of each slot, from CLUSTER SLOTS. */
async function masterOfSlot(client: Redis, slot: number): Promise<string | undefined> {
  const ranges = (await client.call('CLUSTER', 'SLOTS')) as Array<[number, number, [string, number]]>;
  const range = ranges.find(([from, to]) => slot >= from && slot <= to);
  return range ? `${range[2][0]}:${range[2][1]}` : undefined;
}

export async function startRedisCluster(): Promise<TestCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'hub-redis-cluster-'));
  const ports = await freePorts(6);
  const servers = new Map<number, ChildProcess>();
  const admin = (port: number) => {
    const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 1 });
    // A node not up yet, or killed on purpose: the caller sees the failed command.
    client.on('error', () => {});
    return client;
  };
  const stopAll = async () => {
    for (const server of servers.values()) server.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const port of ports) {
      const server = spawn(
        'redis-server',
        [
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          join(dir, `nodes-${port}.conf`),
          '--cluster-node-timeout',
          '1000',
          '--dir',
          dir,
          '--dbfilename',
          `dump-${port}.rdb`,
          '--save',
          '',
          '--appendonly',
          'no',
          '--daemonize',
          'no',
        ],
        { stdio: 'ignore' },
      );
      servers.set(port, server);
    }
    for (const port of ports) {
      await until(`node ${port} to answer`, async () => {
        const client = admin(port);
        try {
          await client.connect();
          return (await client.ping()) === 'PONG';
        } finally {
          client.disconnect();
        }
      });
    }
    const create = spawnSync(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...ports.map((port) => `127.0.0.1:${port}`),
        '--cluster-replicas',
        '1',
        '--cluster-yes',
      ],
      { encoding: 'utf8', timeout: 60_000 },
    );
    if (create.status !== 0)
      throw new Error(`redis-cli --cluster create failed:\n${create.stdout}${create.stderr}`);
    for (const port of ports) {
      await until(`node ${port} to see the cluster ok`, async () => {
        const client = admin(port);
        try {
          await client.connect();
          const info = String(await client.call('CLUSTER', 'INFO'));
          const replication = await client.info('replication');
          // Replicas must be in sync, or a failover would have nothing to promote.
          const synced = !/role:slave/.test(replication) || /master_link_status:up/.test(replication);
          return /cluster_state:ok/.test(info) && /cluster_slots_ok:16384/.test(info) && synced;
        } finally {
          client.disconnect();
        }
      });
    }
  } catch (error) {
    await stopAll();
    throw error;
  }

  const nodes = ports.map((port) => `127.0.0.1:${port}`);
  const client = new Cluster(
    ports.map((port) => ({ host: '127.0.0.1', port })),
    { retryDelayOnFailover: 200, retryDelayOnClusterDown: 200 },
  );
  // Connection errors while a master is down are expected; ioredis would print each one unhandled.
  client.on('error', () => {});
  await client.ping();

  return {
    nodes,
    client,
    async deleteKeys(fragment) {
      const pattern = `*${fragment.replace(/[*?[\]\\]/g, '\\$&')}*`;
      for (const master of client.nodes('master')) {
        const keys = await master.keys(pattern);
        // One DEL per key: keys of one node may still sit in different slots.
        await Promise.all(keys.map((key) => master.del(key)));
      }
    },
    async killMasterOf(key) {
      const live = [...servers.keys()].find((port) => servers.get(port)?.exitCode === null) ?? ports[0];
      const probe = admin(live as number);
      await probe.connect();
      try {
        const slot = Number(await probe.call('CLUSTER', 'KEYSLOT', key));
        const master = await masterOfSlot(probe, slot);
        const port = Number(master?.split(':')[1]);
        const server = servers.get(port);
        if (!server) throw new Error(`no local node serves slot ${slot} (${master})`);
        const exited = new Promise((resolve) => server.once('exit', resolve));
        server.kill('SIGKILL');
        await exited;
        servers.delete(port);
        // A surviving node names a new master for the slot, and the cluster is whole again.
        const survivor = admin(ports.find((p) => servers.has(p)) as number);
        await survivor.connect();
        try {
          await until('the replica to take over', async () => {
            const now = await masterOfSlot(survivor, slot);
            const info = String(await survivor.call('CLUSTER', 'INFO'));
            return now !== undefined && now !== master && /cluster_state:ok/.test(info);
          });
        } finally {
          survivor.disconnect();
        }
        return port;
      } finally {
        probe.disconnect();
      }
    },
    async stop() {
      client.disconnect();
      await stopAll();
    },
  };
}
