import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hubConfigSchema } from '../../core/config/schema';
import { ApiKeyStore, bearerToken } from '../../core/security/api-keys';
import { loadServerSecret } from '../../core/security/server-secrets';
import { SessionTokens } from '../../core/security/session-tokens';
import { createStore, type KyselyStore } from '../../core/store';

let store: KyselyStore;
let keys: ApiKeyStore;

beforeAll(async () => {
  store = await createStore(hubConfigSchema.parse({ database: { driver: 'pglite', dataDir: 'memory://' } }));
  keys = new ApiKeyStore(store.db);
});

afterAll(async () => {
  await store?.close();
});

describe('API keys', () => {
  it('are shown once, greppable, and stored only as the SHA-256 of the key', async () => {
    const created = await keys.create('acme', 'shop backend');
    expect(created.key).toMatch(/^hub_[a-z0-9]{10}_[0-9a-f]{64}$/);
    expect(created.key.startsWith(`hub_${created.id}_`)).toBe(true);
    const rows = await sql<Record<string, unknown>>`select * from api_keys where id = ${created.id}`.execute(
      store.db,
    );
    const stored = JSON.stringify(rows.rows);
    const secret = created.key.split('_')[2] as string;
    expect(stored).not.toContain(secret);
    expect(rows.rows[0]?.secret_hash).toBe(createHash('sha256').update(created.key).digest('hex'));
    const listed = await keys.list();
    expect(listed.find((key) => key.id === created.id)).toEqual({
      id: created.id,
      tenant: 'acme',
      name: 'shop backend',
      createdAt: created.createdAt,
    });
    expect(JSON.stringify(listed)).not.toContain(secret);
  });

  it('authenticate the exact key of an active row only', async () => {
    const created = await keys.create('acme', 'crm');
    expect(await keys.authenticate(created.key)).toEqual({ id: created.id, tenant: 'acme', name: 'crm' });
    const lastDigit = created.key.at(-1) === '0' ? '1' : '0';
    expect(await keys.authenticate(`${created.key.slice(0, -1)}${lastDigit}`)).toBeUndefined();
    expect(await keys.authenticate(`hub_zzzzzzzzzz_${created.key.split('_')[2]}`)).toBeUndefined();
    expect(await keys.authenticate('not a key')).toBeUndefined();
    expect(await keys.revoke(created.id)).toBe(true);
    expect(await keys.revoke(created.id)).toBe(false);
    expect(await keys.authenticate(created.key)).toBeUndefined();
    expect((await keys.list()).find((key) => key.id === created.id)?.revokedAt).toBeDefined();
  });

  it('refuse a malformed tenant or an empty name', async () => {
    await expect(keys.create('has spaces', 'x')).rejects.toMatchObject({
      code: 'api_keys.invalid',
      status: 400,
    });
    await expect(keys.create('acme', '  ')).rejects.toMatchObject({ code: 'api_keys.invalid' });
  });

  it('are read from a bearer Authorization header', () => {
    expect(bearerToken('Bearer hub_abc')).toBe('hub_abc');
    expect(bearerToken('bearer  hub_abc ')).toBe('hub_abc');
    expect(bearerToken('Basic abc')).toBeUndefined();
    expect(bearerToken(undefined)).toBeUndefined();
  });
});

describe('server secrets', () => {
  it('are generated once and kept in the database, unless the environment gives one', async () => {
    const none = { variable: 'HUB_TEST_SECRET', value: undefined };
    const first = await loadServerSecret(store.db, 'test-secret', none);
    expect(first.length).toBe(32);
    expect((await loadServerSecret(store.db, 'test-secret', none)).equals(first)).toBe(true);
    const given = 'x'.repeat(40);
    expect((await loadServerSecret(store.db, 'test-secret', { ...none, value: given })).toString()).toBe(
      given,
    );
    await expect(loadServerSecret(store.db, 'test-secret', { ...none, value: 'short' })).rejects.toThrow(
      /HUB_TEST_SECRET is too short.*openssl rand/,
    );
  });
});

describe('session tokens', () => {
  it('are valid for their channel and session until they expire, and for nothing else', () => {
    const tokens = SessionTokens.ephemeral();
    const now = Date.now();
    const { token, expiresAt } = tokens.issue('webchat', 'sess_0123456789abcdef', 60_000, now);
    expect(Date.parse(expiresAt)).toBe(Math.floor((now + 60_000) / 1000) * 1000);
    expect(tokens.check('webchat', 'sess_0123456789abcdef', token, now)).toBe('valid');
    expect(tokens.check('webchat', 'sess_fedcba9876543210', token, now)).toBe('invalid');
    expect(tokens.check('shop-chat', 'sess_0123456789abcdef', token, now)).toBe('invalid');
    expect(tokens.check('webchat', 'sess_0123456789abcdef', token, now + 61_000)).toBe('expired');
    const [expiry, mac] = token.split('.');
    // A later expiry with the old signature is a forgery, not an extension.
    expect(tokens.check('webchat', 'sess_0123456789abcdef', `${Number(expiry) + 3600}.${mac}`, now)).toBe(
      'invalid',
    );
    expect(SessionTokens.ephemeral().check('webchat', 'sess_0123456789abcdef', token, now)).toBe('invalid');
  });
});
