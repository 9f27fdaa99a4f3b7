import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hubConfigSchema } from '../../core/config/schema';
import { buildServer } from '../../core/http/server';
import { AccessControl } from '../../core/security/guard';
import { OperatorStore } from '../../core/security/operator-store';
import { hashPassword, SCRYPT_PARAMS, verifyPassword } from '../../core/security/passwords';
import { createStore, type KyselyStore } from '../../core/store';

const config = hubConfigSchema.parse({ database: { driver: 'pglite', dataDir: 'memory://' } });
let store: KyselyStore;
let operators: OperatorStore;

beforeAll(async () => {
  store = await createStore(config);
  operators = new OperatorStore(store.db);
});

afterAll(async () => {
  await store?.close();
});

describe('operator passwords (scrypt, node:crypto)', () => {
  it('hashes with a fresh salt and the stated parameters, and verifies only the right password', async () => {
    const a = await hashPassword('correct horse battery');
    const b = await hashPassword('correct horse battery');
    expect(a).not.toBe(b);
    expect(a.startsWith(`scrypt$${SCRYPT_PARAMS.N}$${SCRYPT_PARAMS.r}$${SCRYPT_PARAMS.p}$`)).toBe(true);
    expect(await verifyPassword('correct horse battery', a)).toBe(true);
    expect(await verifyPassword('correct horse batterY', a)).toBe(false);
    expect(await verifyPassword('correct horse battery', 'bcrypt$whatever')).toBe(false);
    expect(await verifyPassword('x', `scrypt$${2 ** 30}$8$1$AAAA$AAAA`)).toBe(false);
  });
});

describe('operator accounts', () => {
  it('keeps e-mails unique and lower-cased, admins in every tenant, and refuses short passwords', async () => {
    const admin = await operators.create({ email: ' Root@Example.com ', role: 'admin', tenants: ['acme'] });
    expect(admin).toMatchObject({
      email: 'root@example.com',
      role: 'admin',
      tenants: ['*'],
      disabled: false,
    });
    await expect(
      operators.create({ email: 'root@example.com', role: 'agent', tenants: [] }),
    ).rejects.toMatchObject({
      code: 'operators.exists',
    });
    await expect(
      operators.create({ email: 'short@example.com', role: 'agent', tenants: [], password: 'tooshort' }),
    ).rejects.toMatchObject({ code: 'operators.weak_password' });
    // Only the hash is stored.
    await operators.create({
      email: 'pw@example.com',
      role: 'agent',
      tenants: ['acme'],
      password: 'long enough secret',
    });
    const stored = await operators.passwordHashOf('pw@example.com');
    expect(stored?.hash).toMatch(/^scrypt\$/);
    expect(stored?.hash).not.toContain('long enough secret');
  });

  it('stores a session by its hash, and expires it', async () => {
    const agent = await operators.findByEmail('pw@example.com');
    if (!agent) throw new Error('pw@example.com was created above');
    const { token } = await operators.openSession(agent, 'password', 60_000);
    expect((await operators.session(token))?.operator.email).toBe('pw@example.com');
    const rows = await store.db
      .selectFrom('operator_sessions' as never)
      .selectAll()
      .execute();
    expect(JSON.stringify(rows)).not.toContain(token);
    const short = await operators.openSession(agent, 'password', 1);
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(await operators.session(short.token)).toBeUndefined();
  });
});

describe('the bootstrap door', () => {
  it('lets this machine in without HUB_ADMIN_TOKEN only until the first operator exists', async () => {
    const fresh = await createStore(config);
    const saved = process.env.HUB_ADMIN_TOKEN;
    delete process.env.HUB_ADMIN_TOKEN;
    const freshOperators = new OperatorStore(fresh.db);
    const server = await buildServer({
      config,
      connectors: [],
      readiness: [],
      security: { access: new AccessControl({ operators: freshOperators, security: config.security }) },
    });
    try {
      const before = await server.inject({ method: 'GET', url: '/admin/me', headers: { host: 'localhost' } });
      expect(before.statusCode).toBe(200);
      expect(before.json().operator).toMatchObject({ kind: 'bootstrap', role: 'admin' });
      await freshOperators.create({ email: 'first@example.com', role: 'admin', tenants: ['*'] });
      const after = await server.inject({ method: 'GET', url: '/admin/me', headers: { host: 'localhost' } });
      expect(after.statusCode).toBe(401);
      expect(after.json().error.code).toBe('access.login_required');
    } finally {
      if (saved !== undefined) process.env.HUB_ADMIN_TOKEN = saved;
      await server.close();
      await fresh.close();
    }
  });
});
