import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hubUrlOf } from '../../app/commands/models';
import { checkHubConfig } from '../../app/config-check';
import { parseConfig } from '../../core/config/load';
import { postgresConnection, readPem, redisTlsOptions, serverTlsOptions } from '../../core/security/tls';
import { HubError } from '../../core/types/errors';
import { makeTestCertificate, OPENSSL, type TestCertificate } from '../support/tls-certificate';

function thrown(run: () => unknown): HubError {
  try {
    run();
  } catch (error) {
    if (error instanceof HubError) return error;
    throw error;
  }
  throw new Error('expected a HubError');
}

let cert: TestCertificate;
let other: TestCertificate;
beforeAll(() => {
  cert = makeTestCertificate();
  other = makeTestCertificate('other.example');
});
afterAll(() => {
  cert?.remove();
  other?.remove();
});

describe.skipIf(!OPENSSL)('TLS settings', () => {
  it('are off by default, with Redis certificates verified when TLS is on', () => {
    const config = parseConfig({});
    expect(config.server.tls).toBeUndefined();
    expect(config.redis.tls).toEqual({ rejectUnauthorized: true });
    expect(config.database.tls).toBeUndefined();
    expect(serverTlsOptions(config.server.tls)).toBeUndefined();
    expect(redisTlsOptions(config.redis)).toEqual({});
  });

  it('reject unknown keys in server.tls with the closest one suggested', () => {
    const error = thrown(() =>
      parseConfig({ server: { tls: { certFile: cert.certFile, keyFile: cert.keyFile, keyfile: 'x' } } }),
    );
    expect(error.message).toMatch(/server\.tls.*keyfile.*keyFile/s);
  });

  it('read a PEM from a file, from the value itself, and with escaped newlines', () => {
    expect(readPem(cert.certFile, 'server.tls.certFile')).toBe(cert.certPem);
    expect(readPem(cert.certPem, 'server.tls.certFile')).toBe(cert.certPem);
    expect(readPem(cert.certPem.replace(/\n/g, '\\n'), 'server.tls.certFile')).toBe(cert.certPem);
  });

  it('stop at start with the key and the fix when a file is missing or is not PEM', () => {
    const missing = thrown(() =>
      serverTlsOptions({ certFile: join(cert.dir, 'absent.pem'), keyFile: cert.keyFile }),
    );
    expect(missing.code).toBe('config.tls_unreadable');
    expect(missing.message).toMatch(/server\.tls\.certFile: cannot read ".*absent\.pem" \(ENOENT\)\. Fix:/);
    const text = join(cert.dir, 'not.pem');
    writeFileSync(text, 'a certificate, honestly');
    const notPem = thrown(() => readPem(text, 'redis.tls.caFile'));
    expect(notPem.code).toBe('config.tls_unreadable');
    expect(notPem.message).toMatch(/redis\.tls\.caFile: .* holds no PEM block/);
  });

  it('refuse a key that does not belong to the certificate', () => {
    const error = thrown(() => serverTlsOptions({ certFile: cert.certFile, keyFile: other.keyFile }));
    expect(error.code).toBe('config.tls_invalid');
    expect(error.message).toMatch(/server\.tls\.keyFile must be the unencrypted private key/);
  });

  it('serve TLS 1.3 at least, with the CA file appended to the chain', () => {
    const options = serverTlsOptions({
      certFile: cert.certFile,
      keyFile: cert.keyFile,
      caFile: other.certFile,
    });
    expect(options?.minVersion).toBe('TLSv1.3');
    expect(String(options?.cert)).toBe(`${cert.certPem.trimEnd()}\n${other.certPem}`);
  });

  it('give Redis TLS options only for rediss://, verifying by default', () => {
    const tls = { caFile: cert.certFile, rejectUnauthorized: true };
    expect(redisTlsOptions({ url: 'rediss://cache:6380', tls })).toEqual({
      tls: { ca: cert.certPem, rejectUnauthorized: true },
    });
    expect(redisTlsOptions({ url: 'rediss://cache:6380', tls: { rejectUnauthorized: false } })).toEqual({
      tls: { rejectUnauthorized: false },
    });
    const plain = thrown(() => redisTlsOptions({ url: 'redis://cache:6379', tls }));
    expect(plain.message).toMatch(/redis\.tls\.caFile is set but redis\.url is not rediss:\/\/.*Fix:/);
  });

  it('take rejectUnauthorized from the environment as a string', () => {
    const config = parseConfig(
      { redis: { tls: { rejectUnauthorized: '${REDIS_TLS_VERIFY}' } } },
      {
        REDIS_TLS_VERIFY: 'false',
      },
    );
    expect(config.redis.tls.rejectUnauthorized).toBe(false);
  });

  it('give PostgreSQL the CA as options and leave sslmode to them', () => {
    const url = 'postgres://hub:secret@db.internal:5432/hub?sslmode=verify-full&application_name=x';
    const connection = postgresConnection({ url, tls: { caFile: cert.certFile } });
    expect(connection.ssl).toEqual({ ca: cert.certPem, rejectUnauthorized: true });
    expect(connection.connectionString).toBe('postgres://hub:secret@db.internal:5432/hub?application_name=x');
    expect(postgresConnection({ url })).toEqual({ connectionString: url });
  });

  it('refuse a PostgreSQL CA file with a URL that does not ask for TLS, or that names one too', () => {
    const noMode = thrown(() =>
      postgresConnection({ url: 'postgres://db/hub', tls: { caFile: cert.certFile } }),
    );
    expect(noMode.message).toMatch(/has no sslmode.*Fix: add \?sslmode=verify-full/);
    const disabled = thrown(() =>
      postgresConnection({ url: 'postgres://db/hub?sslmode=disable', tls: { caFile: cert.certFile } }),
    );
    expect(disabled.message).toMatch(/has sslmode=disable/);
    const twice = thrown(() =>
      postgresConnection({
        url: `postgres://db/hub?sslmode=verify-full&sslrootcert=${cert.certFile}`,
        tls: { caFile: cert.certFile },
      }),
    );
    expect(twice.message).toMatch(/keep one of them/);
  });

  it('are checked by hub validate and hub start, every problem at once', () => {
    const input = {
      server: { tls: { certFile: join(cert.dir, 'absent.pem'), keyFile: cert.keyFile } },
      database: { driver: 'postgres', url: 'postgres://db/hub', tls: { caFile: cert.certFile } },
    };
    const error = thrown(() => parseConfig(input, {}, 'hub.yaml', checkHubConfig));
    expect(error.message).toMatch(/server\.tls\.certFile: cannot read/);
    expect(error.message).toMatch(/database\.tls\.caFile is set but database\.url has no sslmode/);
    const inline = { server: { tls: { certFile: '${HUB_TLS_CERT}', keyFile: '${HUB_TLS_KEY}' } } };
    const env = { HUB_TLS_CERT: cert.certPem, HUB_TLS_KEY: cert.keyPem };
    expect(parseConfig(inline, env, 'hub.yaml', checkHubConfig).server.tls?.certFile).toBe(cert.certPem);
  });

  it('make the hub commands call the running hub over HTTPS', () => {
    const tls = { certFile: cert.certFile, keyFile: cert.keyFile };
    expect(hubUrlOf(parseConfig({ server: { host: '0.0.0.0', port: 3443, tls } }))).toBe(
      'https://127.0.0.1:3443',
    );
    expect(hubUrlOf(parseConfig({ server: { port: 3000 } }))).toBe('http://127.0.0.1:3000');
  });
});

/** Every file under `dir` ending in .ts. */
function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

describe('Redis connections', () => {
  it('are all made through connectConfiguredRedis, so none misses the TLS options', () => {
    const root = join(import.meta.dirname, '..', '..');
    const factory = new Set([
      'core/state/redis-client.ts',
      'core/state/redis-connect.ts',
      'core/state/index.ts',
    ]);
    const offenders = ['core', 'app', 'connectors', 'adapters'].flatMap((top) =>
      sources(join(root, top)).flatMap((path) => {
        const file = relative(root, path);
        if (factory.has(file)) return [];
        const text = readFileSync(path, 'utf8');
        const found = [/new (IO)?Redis\(/, /from '(@?redis|@redis\/client)'/, /\bconnectRedis\(/].filter(
          (pattern) => pattern.test(text),
        );
        return found.map((pattern) => `${file}: ${pattern.source}`);
      }),
    );
    expect(offenders).toEqual([]);
  });
});
