import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { interpolateEnv, loadConfig, parseConfig } from '../../core/config/load';
import { HubError } from '../../core/types';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');

function tempFile(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'hub-config-')), 'hub.yaml');
  writeFileSync(file, text);
  return file;
}

function errorOf(fn: () => unknown): HubError {
  try {
    fn();
  } catch (error) {
    if (error instanceof HubError) return error;
    throw error;
  }
  throw new Error('expected a HubError');
}

describe('config', () => {
  it('gives embedded defaults for an empty file', () => {
    const config = parseConfig({}, {});
    expect(config.bus.driver).toBe('memory');
    expect(config.state.driver).toBe('memory');
    expect(config.database.driver).toBe('pglite');
    expect(config.llm.enabled).toBe(false);
    expect(config.server.port).toBe(3000);
    expect(config.channels.map((c) => c.type)).toEqual(['rest', 'webchat']);
  });

  it('keeps conversation leases short by default and refuses a renewal interval not shorter than the lease', () => {
    const { bus } = parseConfig({}, {});
    expect(bus).toMatchObject({ lockTtlMs: 3_000, stalledIntervalMs: 1_000 });
    expect(bus.lockRenewMs).toBeUndefined();
    expect(parseConfig({ bus: { lockTtlMs: 6_000, lockRenewMs: 1_500 } }, {}).bus.lockRenewMs).toBe(1_500);
    const error = errorOf(() => parseConfig({ bus: { lockTtlMs: 2_000, lockRenewMs: 2_000 } }, {}));
    expect(error.message).toMatch(/bus\.lockRenewMs: .*shorter than bus\.lockTtlMs/);
  });

  it('takes PORT and HOST from the environment', () => {
    const config = parseConfig({ server: { port: 4000 } }, { PORT: '8080', HOST: '0.0.0.0' });
    expect(config.server).toMatchObject({ port: 8080, host: '0.0.0.0' });
  });

  it('interpolates ${VAR} and ${VAR:-default} in values, never in keys', () => {
    const env = { TOKEN: 's3cret' };
    expect(interpolateEnv({ a: '${TOKEN}', b: ['x-${MISSING:-dflt}'], '${TOKEN}': 1 }, env)).toEqual({
      a: 's3cret',
      b: ['x-dflt'],
      '${TOKEN}': 1,
    });
    const error = errorOf(() => interpolateEnv({ llm: { apiKey: '${LLM_API_KEY}' } }, {}));
    expect(error.code).toBe('config.env_missing');
    expect(error.message).toContain('llm.apiKey');
    expect(error.message).toContain('export LLM_API_KEY=');
  });

  it('turns flags from the environment into booleans', () => {
    expect(parseConfig({ llm: { enabled: '${LLM_ON}' } }, { LLM_ON: 'true' }).llm.enabled).toBe(true);
    expect(parseConfig({ llm: { enabled: '${LLM_ON:-false}' } }, {}).llm.enabled).toBe(false);
  });

  it('names every bad key, the problem and the fix', () => {
    const error = errorOf(() =>
      parseConfig(
        {
          bus: { driver: 'kafka', maxAttempts: -1 },
          database: { driver: 'postgres' },
          channels: [{ id: 'Bad Id', type: 'rest' }],
        },
        {},
      ),
    );
    expect(error.code).toBe('config.invalid');
    expect(error.message).toMatch(/bus\.driver: .*"memory"\|"bullmq"/);
    expect(error.message).toMatch(/bus\.maxAttempts/);
    expect(error.message).toMatch(/database\.url: .*set it/);
    expect(error.message).toMatch(/channels\.0\.id: use lower-case letters/);
  });

  it('reports YAML syntax errors with the line', async () => {
    await expect(loadConfig(tempFile('bus:\n  driver: [memory\n'))).rejects.toThrow(
      /not valid YAML at line \d/,
    );
    await expect(loadConfig('/nonexistent/hub.yaml')).rejects.toThrow(/Cannot read config file/);
  });

  it('ships example configs that validate', async () => {
    await expect(loadConfig(join(ROOT, 'config', 'hub.yaml'), {})).resolves.toBeDefined();
    await expect(loadConfig(join(ROOT, 'config', 'hub.production.yaml'), {})).resolves.toMatchObject({
      bus: { driver: 'bullmq' },
      database: { driver: 'postgres' },
    });
  });

  it('`hub validate` accepts a good file and rejects a bad one with exit code 1', async () => {
    const hub = join(ROOT, 'bin', 'hub.mjs');
    const good = await run(process.execPath, [hub, 'validate', join(ROOT, 'config', 'hub.yaml')]);
    expect(good.stdout).toContain('is valid');
    expect(good.stdout).toContain('channels: rest (rest), webchat (webchat)');
    const bad = tempFile('channels:\n  - id: x\n    type: carrier-pigeon\n');
    const failed = await run(process.execPath, [hub, 'validate', bad]).catch((error) => error);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/channels\.0\.type: unknown channel type "carrier-pigeon"/);
  }, 120_000);
});
