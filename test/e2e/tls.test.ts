import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  appendFileSync,
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  mkdtempSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningHub, startHub } from '../../app/hub';
import { startWorkerOps } from '../../app/worker-ops';
import { createBus } from '../../core/bus';
import { parseConfig } from '../../core/config/load';
import { createStateStore } from '../../core/state';
import { createStore, type KyselyStore } from '../../core/store';
import { HubError } from '../../core/types/errors';
import type { InboundEvent } from '../../core/types/events';
import {
  findPostgresBin,
  freePort,
  PrivatePostgres,
  PrivateRedis,
  REDIS_SERVER,
} from '../support/private-services';
import { makeTestCertificate, OPENSSL, type TestCertificate } from '../support/tls-certificate';

/**
 * TLS end to end with a self-signed certificate made here: the hub serving HTTPS, and the hub's
 * own Redis and PostgreSQL clients against private servers that speak only TLS. The machine's
 * Redis (6379) and PostgreSQL (5432) are never used.
 */

let cert: TestCertificate;
let stranger: TestCertificate;
beforeAll(() => {
  if (!OPENSSL) return;
  cert = makeTestCertificate();
  stranger = makeTestCertificate();
});
afterAll(() => {
  cert?.remove();
  stranger?.remove();
});

async function getHealth(url: string, ca: string): Promise<{ status: number; protocol: string | null }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/healthz`, { ca, agent: false }, (res) => {
      const protocol = (res.socket as import('node:tls').TLSSocket).getProtocol();
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, protocol }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A client that speaks at most TLS 1.2: the handshake must fail. */
async function handshakeUpToTls12(port: number, ca: string): Promise<Error> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, ca, maxVersion: 'TLSv1.2' }, () => {
      const protocol = socket.getProtocol();
      socket.destroy();
      reject(new Error(`a TLS 1.2 client was let in with ${protocol}`));
    });
    socket.on('error', resolve);
  });
}

async function rejection(promise: Promise<unknown>): Promise<HubError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof HubError)) throw new Error(`expected a HubError, got ${String(error)}`);
  return error;
}

describe.skipIf(!OPENSSL)('the hub over HTTPS', () => {
  let hub: RunningHub | undefined;
  // One hub for the suite: starting one (knowledge index, tokenizer) takes a while on a loaded machine.
  beforeAll(async () => {
    hub = await startHub(
      parseConfig({
        server: { port: 0, tls: { certFile: cert.certFile, keyFile: cert.keyFile } },
        database: { driver: 'pglite', dataDir: 'memory://' },
      }),
    );
  });
  afterAll(async () => {
    await hub?.stop();
  });

  it('answers /healthz with TLS 1.3 and refuses a TLS 1.2-only client', async () => {
    const url = hub?.url ?? '';
    expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(await getHealth(url, cert.certPem)).toEqual({ status: 200, protocol: 'TLSv1.3' });
    const refused = await handshakeUpToTls12(Number(new URL(url).port), cert.certPem);
    expect(refused.message).toMatch(/protocol version|unsupported protocol/i);
  });

  it('presents the configured certificate: a client trusting another one refuses it', async () => {
    await expect(getHealth(hub?.url ?? '', stranger.certPem)).rejects.toThrow(/self[- ]signed|certificate/i);
  });

  it('takes the certificate and key as PEM from the environment (the worker port, same reader)', async () => {
    const config = parseConfig(
      { server: { tls: { certFile: '${HUB_TLS_CERT}', keyFile: '${HUB_TLS_KEY}' } } },
      { HUB_TLS_CERT: cert.certPem, HUB_TLS_KEY: cert.keyPem.replace(/\n/g, '\\n') },
    );
    const ops = await startWorkerOps(
      {
        bus: { ping: async () => {} },
        store: { ping: async () => {} },
        workerPort: 0,
        tls: config.server.tls,
      },
      {},
    );
    try {
      expect(await getHealth(ops?.url ?? '', cert.certPem)).toEqual({ status: 200, protocol: 'TLSv1.3' });
    } finally {
      await ops?.close();
    }
  });

  it('stops at start, before opening the database, when the certificate cannot be read', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'hub-tls-db-'));
    try {
      const error = await rejection(
        startHub(
          parseConfig({
            server: { port: 0, tls: { certFile: join(cert.dir, 'gone.pem'), keyFile: cert.keyFile } },
            database: { driver: 'pglite', dataDir: join(dataDir, 'db') },
          }),
        ),
      );
      expect(error.code).toBe('config.tls_unreadable');
      expect(error.message).toMatch(/server\.tls\.certFile: cannot read ".*gone\.pem" \(ENOENT\)\. Fix: /);
      expect(existsSync(join(dataDir, 'db'))).toBe(false);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('serves the worker port over HTTPS too', async () => {
    const ops = await startWorkerOps(
      {
        bus: { ping: async () => {} },
        store: { ping: async () => {} },
        workerPort: 0,
        tls: { certFile: cert.certFile, keyFile: cert.keyFile },
      },
      {},
    );
    try {
      expect(ops?.url).toMatch(/^https:\/\//);
      expect(await getHealth(ops?.url ?? '', cert.certPem)).toEqual({ status: 200, protocol: 'TLSv1.3' });
      const refused = await handshakeUpToTls12(Number(new URL(ops?.url ?? '').port), cert.certPem);
      expect(refused.message).toMatch(/protocol version|unsupported protocol/i);
    } finally {
      await ops?.close();
    }
  });
});

/** Does this redis-server build speak TLS? A build without it calls the tls directives bad; one with it exits on the missing file. */
function redisHasTls(binary: string | undefined): boolean {
  if (!binary) return false;
  const probe = spawnSync(
    binary,
    ['--port', '0', '--tls-port', '1', '--tls-cert-file', '/nonexistent/cert.pem'],
    {
      timeout: 10_000,
      encoding: 'utf8',
    },
  );
  return !/Bad directive/.test(`${probe.stdout}${probe.stderr}`);
}

const REDIS_TLS = redisHasTls(REDIS_SERVER);
if (REDIS_SERVER && !REDIS_TLS) console.warn(`skipped: ${REDIS_SERVER} was built without TLS support`);

describe.skipIf(!OPENSSL || !REDIS_SERVER || !REDIS_TLS)('Redis over TLS (rediss://)', () => {
  let redis: PrivateRedis;
  let url: string;
  const keyPrefix = `hub-tls-${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    redis = new PrivateRedis(REDIS_SERVER ?? '', await freePort(), {
      certFile: cert.certFile,
      keyFile: cert.keyFile,
      caFile: cert.certFile,
    });
    await redis.start();
    url = redis.url;
  }, 60_000);
  afterAll(async () => {
    await redis?.destroy();
  });

  it('keeps the dialog state there, trusting the configured CA', async () => {
    const config = parseConfig({
      redis: { url, keyPrefix, tls: { caFile: cert.certFile } },
      state: { driver: 'redis' },
    });
    const state = await createStateStore(config, { keyPrefix });
    try {
      const conversationKey = 'rest:default:tls-1';
      const saved = {
        conversationKey,
        slots: { order: 'AB00000001' },
        history: [],
        handoff: 'bot' as const,
        handledEventIds: ['e-1'],
        updatedAt: new Date().toISOString(),
      };
      await state.save(saved);
      expect(await state.load(conversationKey)).toMatchObject({ slots: { order: 'AB00000001' } });
    } finally {
      await state.close();
    }
  });

  it('runs the BullMQ bus there: its own connections carry the TLS options too', async () => {
    const config = parseConfig({
      redis: { url, keyPrefix, tls: { caFile: cert.certFile } },
      bus: { driver: 'bullmq', queue: `tls-${keyPrefix}` },
    });
    const bus = await createBus(config, { keyPrefix });
    try {
      const handled: string[] = [];
      await bus.consume(async (event) => {
        handled.push(event.id);
      });
      const event: InboundEvent = {
        id: 'tls-event-1',
        kind: 'message',
        ref: { channel: 'rest', tenant: 'default', conversation: 'tls-2' },
        sender: { id: 'customer-1' },
        receivedAt: new Date().toISOString(),
        text: 'hello over TLS',
      };
      await bus.publish(event);
      const deadline = Date.now() + 15_000;
      while (handled.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(handled).toEqual(['tls-event-1']);
    } finally {
      await bus.close();
    }
  });

  it('refuses a server whose certificate it cannot verify, and says how to fix it', async () => {
    const config = parseConfig({
      redis: { url, keyPrefix, tls: { caFile: stranger.certFile } },
      state: { driver: 'redis' },
    });
    const error = await rejection(createStateStore(config, { keyPrefix }));
    expect(error.code).toBe('config.redis_tls');
    expect(error.message).toMatch(
      /Cannot reach Redis at rediss:\/\/127\.0\.0\.1:\d+.*Fix: set redis\.tls\.caFile/s,
    );
  });
});

/**
 * A private cluster with ssl = on and the test's certificate, reachable over TCP only with TLS
 * (hostnossl: reject), so a successful query proves the store's connection is encrypted.
 */
function enableTls(database: PrivatePostgres, certificate: TestCertificate): void {
  const owner = (flag: string) => Number(execFileSync('id', [flag, 'postgres']).toString().trim());
  const asRoot = process.getuid?.() === 0;
  for (const [from, name] of [
    [certificate.certFile, 'server.crt'],
    [certificate.keyFile, 'server.key'],
  ] as const) {
    const to = join(database.data, name);
    copyFileSync(from, to);
    // PostgreSQL refuses a key that others can read.
    chmodSync(to, 0o600);
    if (asRoot) chownSync(to, owner('-u'), owner('-g'));
  }
  appendFileSync(
    join(database.data, 'postgresql.conf'),
    "\nssl = on\nssl_min_protocol_version = 'TLSv1.3'\n",
  );
  writeFileSync(
    join(database.data, 'pg_hba.conf'),
    'local all all trust\nhostssl all all 127.0.0.1/32 trust\nhostnossl all all 127.0.0.1/32 reject\n',
  );
}

const PG_BIN = findPostgresBin();

describe.skipIf(!OPENSSL || !PG_BIN)('PostgreSQL over TLS (sslmode=verify-full)', () => {
  let database: PrivatePostgres | undefined;

  beforeAll(async () => {
    database = new PrivatePostgres(PG_BIN ?? '', await freePort());
    database.init();
    enableTls(database, cert);
    database.start();
  }, 120_000);
  afterAll(() => {
    database?.destroy();
  });

  const urlWith = (query: string) => `postgres://postgres@127.0.0.1:${database?.port}/postgres?${query}`;

  it('opens the store with the configured CA, over TLS 1.3', async () => {
    let store: KyselyStore | undefined;
    try {
      store = await createStore(
        parseConfig({
          database: {
            driver: 'postgres',
            url: urlWith('sslmode=verify-full'),
            tls: { caFile: cert.certFile },
          },
        }),
      );
      const { rows } = await sql<{ ssl: boolean; version: string }>`
        select ssl, version from pg_stat_ssl where pid = pg_backend_pid()`.execute(store.db);
      expect(rows).toEqual([{ ssl: true, version: 'TLSv1.3' }]);
      await store.ping();
    } finally {
      await store?.close();
    }
  });

  it('verifies the host name: localhost is in the certificate, and the URL may name it', async () => {
    const url = `postgres://postgres@localhost:${database?.port}/postgres?sslmode=verify-full`;
    const store = await createStore(
      parseConfig({ database: { driver: 'postgres', url, tls: { caFile: cert.certFile } } }),
    );
    await store.close();
  });

  it('refuses a server whose certificate it cannot verify, and says how to fix it', async () => {
    const error = await rejection(
      createStore(
        parseConfig({
          database: {
            driver: 'postgres',
            url: urlWith('sslmode=verify-full'),
            tls: { caFile: stranger.certFile },
          },
        }),
      ),
    );
    expect(error.code).toBe('store.unavailable');
    expect(error.message).toMatch(/the TLS connection failed \(.*\)\. Fix: set database\.tls\.caFile/);
  });

  it('is refused without TLS: the server takes encrypted connections only', async () => {
    const error = await rejection(
      createStore(parseConfig({ database: { driver: 'postgres', url: urlWith('sslmode=disable') } })),
    );
    expect(error.message).toMatch(/no encryption/);
  });
});
