import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The openssl command line, which makes the tests' certificates (no npm package needed). */
export const OPENSSL = ['/usr/bin/openssl', '/usr/local/bin/openssl'].find((path) => existsSync(path));

export interface TestCertificate {
  dir: string;
  /** Self-signed, so it is its own CA: give it as the CA file to trust it. */
  certFile: string;
  keyFile: string;
  certPem: string;
  keyPem: string;
  remove(): void;
}

/**
 * A throw-away self-signed certificate (P-256, one day) for 127.0.0.1 and localhost, so clients can
 * verify the host name as well as the signature (PostgreSQL's verify-full, Node's default).
 */
export function makeTestCertificate(commonName = '127.0.0.1'): TestCertificate {
  if (!OPENSSL) throw new Error('openssl is not installed; the TLS tests make their certificates with it');
  const dir = mkdtempSync(join(tmpdir(), 'hub-tls-'));
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  execFileSync(
    OPENSSL,
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '1',
      '-subj',
      `/CN=${commonName}`,
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '-keyout',
      keyFile,
      '-out',
      certFile,
    ],
    { stdio: 'pipe', timeout: 30_000 },
  );
  return {
    dir,
    certFile,
    keyFile,
    certPem: readFileSync(certFile, 'utf8'),
    keyPem: readFileSync(keyFile, 'utf8'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
