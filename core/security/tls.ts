import { readFileSync } from 'node:fs';
import type { ServerOptions as SecureServerOptions } from 'node:https';
import { type ConnectionOptions, createSecureContext } from 'node:tls';
import type { HubConfig } from '../config/schema';
import { HubError } from '../types/errors';

/**
 * TLS settings of the hub's own server and of its connections to Redis and PostgreSQL. Everything
 * is read and checked when the hub starts (and by `hub validate`), so a missing or broken
 * certificate stops it there with the key to fix, never at the first request.
 */

export type ServerTlsConfig = NonNullable<HubConfig['server']['tls']>;
export type RedisTlsSettings = Pick<HubConfig['redis'], 'url' | 'tls'>;
export type PostgresTlsSettings = Pick<HubConfig['database'], 'url' | 'tls'>;

/** Older protocol versions have known downgrade and cipher weaknesses; every current client speaks 1.3. */
export const MIN_TLS_VERSION = 'TLSv1.3';

const PEM_BEGIN = '-----BEGIN ';

/**
 * A config value is a PEM file's path or the PEM itself (from `${ENV}`); environments that cannot hold
 * newlines often carry them as a literal "\n", which is turned back into one.
 */
export function readPem(value: string, key: string): string {
  const inline = value.trimStart().startsWith(PEM_BEGIN);
  let pem: string;
  if (inline) pem = value.replace(/\\n/g, '\n');
  else {
    try {
      pem = readFileSync(value, 'utf8');
    } catch (cause) {
      const reason = (cause as NodeJS.ErrnoException).code ?? (cause as Error).message;
      throw new HubError(
        'config.tls_unreadable',
        `${key}: cannot read "${value}" (${reason}). Fix: point ${key} at a PEM file the hub's user can read, or set it to the PEM text itself (e.g. from an environment variable).`,
        { cause },
      );
    }
  }
  if (!pem.includes(PEM_BEGIN)) {
    throw new HubError(
      'config.tls_unreadable',
      `${key}: ${inline ? 'the value' : `"${value}"`} holds no PEM block ("${PEM_BEGIN}..."). Fix: give a PEM-encoded certificate or key, e.g. convert DER with \`openssl x509 -inform der -in cert.der -out cert.pem\`.`,
    );
  }
  return pem;
}

/** The options of an HTTPS server, or undefined for plain HTTP. */
export function serverTlsOptions(tls: ServerTlsConfig | undefined): SecureServerOptions | undefined {
  if (!tls) return undefined;
  const certificate = readPem(tls.certFile, 'server.tls.certFile');
  const chain = tls.caFile
    ? `${certificate.trimEnd()}\n${readPem(tls.caFile, 'server.tls.caFile')}`
    : certificate;
  const options: SecureServerOptions = {
    cert: chain,
    key: readPem(tls.keyFile, 'server.tls.keyFile'),
    minVersion: MIN_TLS_VERSION,
  };
  try {
    // Parses both and checks that the key belongs to the certificate, which listen() would not say clearly.
    createSecureContext(options);
  } catch (cause) {
    throw new HubError(
      'config.tls_invalid',
      `server.tls: the certificate and key do not make a TLS server (${(cause as Error).message}). Fix: server.tls.keyFile must be the unencrypted private key of server.tls.certFile, both PEM.`,
      { cause },
    );
  }
  return options;
}

/** ioredis options for redis.url: TLS exactly when the URL is rediss://. */
export function redisTlsOptions(redis: RedisTlsSettings): { tls?: ConnectionOptions } {
  const encrypted = redis.url.trimStart().toLowerCase().startsWith('rediss://');
  if (!encrypted) {
    if (redis.tls.caFile) {
      throw new HubError(
        'config.invalid',
        'redis.tls.caFile is set but redis.url is not rediss://, so the connection would not be encrypted. Fix: write redis.url as rediss://host:port, or remove redis.tls.caFile.',
      );
    }
    return {};
  }
  return {
    tls: {
      ...(redis.tls.caFile ? { ca: readPem(redis.tls.caFile, 'redis.tls.caFile') } : {}),
      rejectUnauthorized: redis.tls.rejectUnauthorized,
    },
  };
}

const TLS_SSLMODES = new Set(['require', 'verify-ca', 'verify-full']);

export interface PostgresConnection {
  connectionString: string;
  ssl?: ConnectionOptions;
}

/**
 * node-postgres reads sslmode from the connection string and verifies the certificate and host name
 * for require, verify-ca and verify-full alike. It would replace an `ssl` option with what it read
 * from the string, so with a CA of our own the string loses sslmode and the options carry it.
 */
export function postgresConnection(database: PostgresTlsSettings): PostgresConnection {
  const connectionString = database.url ?? '';
  const caFile = database.tls?.caFile;
  if (!caFile) return { connectionString };
  let url: URL;
  try {
    url = new URL(connectionString);
  } catch (cause) {
    throw new HubError(
      'config.invalid',
      'database.tls.caFile is set but database.url is not a URL. Fix: write it as postgres://user:password@host:5432/db?sslmode=verify-full.',
      { cause },
    );
  }
  const sslmode = url.searchParams.get('sslmode') ?? '';
  if (!TLS_SSLMODES.has(sslmode)) {
    throw new HubError(
      'config.invalid',
      `database.tls.caFile is set but database.url ${sslmode ? `has sslmode=${sslmode}` : 'has no sslmode'}, so the connection would not be verified. Fix: add ?sslmode=verify-full to database.url, or remove database.tls.caFile.`,
    );
  }
  if (url.searchParams.has('sslrootcert')) {
    throw new HubError(
      'config.invalid',
      'database.url has sslrootcert and database.tls.caFile is set too. Fix: keep one of them.',
    );
  }
  url.searchParams.delete('sslmode');
  return {
    connectionString: url.toString(),
    ssl: { ca: readPem(caFile, 'database.tls.caFile'), rejectUnauthorized: true },
  };
}

/** One check per TLS setting of the config, each reading its files; `hub validate` and `hub start` run them all. */
export function tlsSettingChecks(
  config: Pick<HubConfig, 'server' | 'redis' | 'database'>,
): Array<() => unknown> {
  return [
    () => serverTlsOptions(config.server.tls),
    () => redisTlsOptions(config.redis),
    () => config.database.driver === 'postgres' && postgresConnection(config.database),
  ];
}

/** Node's and OpenSSL's words for a failed handshake or certificate check. */
export function isTlsFailure(message: string): boolean {
  return /certificate|self[- ]signed|\bSSL\b|\bTLS\b|handshake|wrong version number|alert/i.test(message);
}
