import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningHub, startHub } from '../../app/hub';
import { hubConfigSchema } from '../../core/config/schema';
import { buildServer } from '../../core/http/server';
import { AccessControl, declaredRouteAccess } from '../../core/security/guard';
import { OperatorStore } from '../../core/security/operator-store';
import { isPermission, PERMISSIONS, PUBLIC, ROLES, type Role } from '../../core/security/permissions';
import { createStore, type KyselyStore } from '../../core/store';
import { registeredRoutes } from '../support/routes';

/**
 * The permission matrix: every admin, agent and sign-in route a started hub serves × every role
 * (and anonymous, and a machine token), each answered as core/security/permissions.ts says. A
 * route that declares no permission fails here before it reaches anyone.
 */

const BOOTSTRAP = 'matrix-bootstrap-token-000000000000';
const ANALYST_TOKEN = 'matrix-analyst-machine-token-00000000';
const PASSWORD = 'matrix-password-0001';
const GUARDED_PREFIXES = ['/admin', '/agent', '/auth', '/login'];

const config = hubConfigSchema.parse({
  server: { port: 0 },
  database: { driver: 'pglite', dataDir: 'memory://' },
  security: {
    tokens: [{ name: 'reports', role: 'analyst', token: ANALYST_TOKEN, tenants: ['default'] }],
    // The matrix sends many refused calls from one address on purpose: the failed-authentication
    // back-off (tested in rate-limits.test.ts) would answer 429 in place of the verdicts under test.
    rateLimits: { enabled: false },
  },
  ticketing: {
    webhooks: {
      zendeskSecret: 'FAKE-zendesk-secret-0000000001',
      genericSecret: 'FAKE-generic-secret-000000001',
    },
  },
});

const SAMPLE_PARAMS: Record<string, string> = {
  channel: 'rest',
  fileId: 'f1',
  model: 'main',
  id: '1',
  action: 'reply',
};

interface Session {
  cookie: string;
  csrf: string;
}

let hub: RunningHub;
let app: FastifyInstance;
const sessions = new Map<Role, Session>();
let savedToken: string | undefined;

async function signIn(server: FastifyInstance, email: string): Promise<Session> {
  const response = await server.inject({
    method: 'POST',
    url: '/auth/login',
    payload: { email, password: PASSWORD },
  });
  expect(response.statusCode, response.body).toBe(200);
  const cookie = response.cookies.find((c) => c.name === 'hub_session');
  expect(cookie?.httpOnly).toBe(true);
  expect(cookie?.sameSite).toBe('Strict');
  return { cookie: `hub_session=${cookie?.value}`, csrf: response.json().csrfToken };
}

function call(
  server: FastifyInstance,
  route: string,
  who: { session?: Session; bearer?: string; csrf?: boolean } = {},
) {
  const [method, path] = route.split(' ') as [string, string];
  const url = path.replace(/\{(\w+)\}/g, (_m, name: string) => SAMPLE_PARAMS[name] ?? 'x');
  const write = method !== 'GET';
  return server.inject({
    method: method as 'GET',
    url,
    headers: {
      ...(who.session ? { cookie: who.session.cookie } : {}),
      ...(who.session && write && who.csrf !== false ? { 'x-csrf-token': who.session.csrf } : {}),
      ...(who.bearer ? { authorization: `Bearer ${who.bearer}` } : {}),
      ...(write ? { 'content-type': 'application/json' } : {}),
    },
    ...(write ? { payload: '{}' } : {}),
  });
}

const isGuarded = (route: string) =>
  GUARDED_PREFIXES.some((prefix) => route.split(' ')[1]?.startsWith(prefix));

beforeAll(async () => {
  savedToken = process.env.HUB_ADMIN_TOKEN;
  process.env.HUB_ADMIN_TOKEN = BOOTSTRAP;
  hub = await startHub(config);
  app = hub.app as FastifyInstance;
  const operators = new OperatorStore((hub.store as KyselyStore).db);
  for (const role of ROLES) {
    await operators.create({ email: `${role}@example.com`, role, tenants: ['default'], password: PASSWORD });
    sessions.set(role, await signIn(app, `${role}@example.com`));
  }
});

afterAll(async () => {
  await hub?.stop();
  if (savedToken === undefined) delete process.env.HUB_ADMIN_TOKEN;
  else process.env.HUB_ADMIN_TOKEN = savedToken;
});

describe('permission matrix', () => {
  it('every admin, agent and sign-in route declares a permission (or public)', () => {
    const declared = declaredRouteAccess(app);
    const routes = registeredRoutes(app).filter((r) => !r.startsWith('HEAD ') && isGuarded(r));
    expect(routes).toEqual(
      expect.arrayContaining(['GET /admin/tickets', 'POST /admin/tickets/{id}/{action}', 'GET /admin/me']),
    );
    const undeclared = routes.filter((route) => {
      const access = declared.get(route);
      return access !== PUBLIC && !isPermission(access);
    });
    expect(undeclared).toEqual([]);
  });

  it('answers every route × role, anonymous and a machine token as the permission table says', async () => {
    const declared = declaredRouteAccess(app);
    const routes = registeredRoutes(app).filter((r) => !r.startsWith('HEAD ') && isGuarded(r));
    const mismatches: string[] = [];
    let cells = 0;
    for (const route of routes) {
      const access = declared.get(route);
      const allowedRoles: readonly Role[] =
        access === PUBLIC ? ROLES : isPermission(access) ? PERMISSIONS[access] : [];
      for (const role of ROLES) {
        const response = await call(app, route, { session: sessions.get(role) as Session });
        // Signing out ends the session the rest of the walk uses.
        if (route === 'POST /auth/logout') sessions.set(role, await signIn(app, `${role}@example.com`));
        const allowed = allowedRoles.includes(role);
        const denied = response.statusCode === 403 && response.json().error.code === 'access.forbidden';
        if (
          allowed === denied ||
          (!allowed && response.statusCode !== 403) ||
          [401, 415].includes(response.statusCode)
        ) {
          mismatches.push(`${route} as ${role}: ${response.statusCode} ${response.body.slice(0, 120)}`);
        }
        cells++;
      }
      const anonymous = await call(app, route);
      if (access === PUBLIC ? [401, 403].includes(anonymous.statusCode) : anonymous.statusCode !== 401) {
        mismatches.push(`${route} anonymous: ${anonymous.statusCode}`);
      }
      const machine = await call(app, route, { bearer: ANALYST_TOKEN });
      const machineAllowed = access === PUBLIC || (isPermission(access) && allowedRoles.includes('analyst'));
      if (machineAllowed === (machine.statusCode === 403 || machine.statusCode === 401)) {
        mismatches.push(`${route} as the analyst token: ${machine.statusCode}`);
      }
      cells += 2;
    }
    expect(mismatches).toEqual([]);
    // 4 roles + anonymous + a machine token, on every guarded route.
    expect(cells).toBe(routes.length * (ROLES.length + 2));
    expect(routes.length).toBeGreaterThanOrEqual(12);
  });

  it('refuses a session write without its CSRF token, and a route outside the tenant scope', async () => {
    const supervisor = sessions.get('supervisor') as Session;
    const noCsrf = await call(app, 'POST /admin/tickets/{id}/{action}', { session: supervisor, csrf: false });
    expect(noCsrf.statusCode).toBe(403);
    expect(noCsrf.json().error.code).toBe('access.csrf');
    const withCsrf = await call(app, 'POST /admin/tickets/{id}/{action}', { session: supervisor });
    expect(withCsrf.statusCode).toBe(400); // through the guard, to the handler: a reply needs text

    const operators = new OperatorStore((hub.store as KyselyStore).db);
    await operators.create({
      email: 'elsewhere@example.com',
      role: 'supervisor',
      tenants: ['acme'],
      password: PASSWORD,
    });
    const elsewhere = await signIn(app, 'elsewhere@example.com');
    // The rest channel is the default tenant's.
    const file = await call(app, 'GET /admin/channels/{channel}/files/{fileId}', { session: elsewhere });
    expect(file.statusCode).toBe(403);
    expect(file.json().error.code).toBe('access.tenant');
  });

  it('ends sessions on logout, role change and disable', async () => {
    const operators = new OperatorStore((hub.store as KyselyStore).db);
    await operators.create({
      email: 'short@example.com',
      role: 'supervisor',
      tenants: ['default'],
      password: PASSWORD,
    });
    let session = await signIn(app, 'short@example.com');
    expect((await call(app, 'GET /admin/me', { session })).json().operator.role).toBe('supervisor');
    expect((await call(app, 'POST /auth/logout', { session })).statusCode).toBe(200);
    expect((await call(app, 'GET /admin/me', { session })).statusCode).toBe(401);

    session = await signIn(app, 'short@example.com');
    await operators.setRole('short@example.com', 'analyst');
    expect((await call(app, 'GET /admin/me', { session })).statusCode).toBe(401);
    session = await signIn(app, 'short@example.com');
    expect((await call(app, 'GET /admin/me', { session })).json().operator.role).toBe('analyst');

    await operators.disable('short@example.com');
    expect((await call(app, 'GET /admin/me', { session })).statusCode).toBe(401);
    const again = await app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email: 'short@example.com', password: PASSWORD },
    });
    expect(again.statusCode).toBe(401);
    const wrong = await app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email: 'agent@example.com', password: 'not-the-password' },
    });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json().error.code).toBe('auth.invalid_credentials');

    // Sign-ins, sign-outs and failed attempts are on the audit trail, and no record holds a password.
    const trail = await (hub.store as KyselyStore).auditTrail({ limit: 500 });
    const actions = new Set(trail.map((record) => record.action));
    for (const action of ['operator.login', 'operator.logout', 'operator.login.failed']) {
      expect(actions, action).toContain(action);
    }
    expect(JSON.stringify(trail)).not.toContain(PASSWORD);
    expect(JSON.stringify(trail)).not.toContain('not-the-password');
  });

  it('fails closed on an admin route registered without a permission, and lists it as undeclared', async () => {
    const store: KyselyStore = await createStore(config);
    const operators = new OperatorStore(store.db);
    const access = new AccessControl({ operators, security: config.security });
    const server = await buildServer({ config, connectors: [], readiness: [], security: { access } });
    server.get('/admin/added-without-permission', async () => ({ ok: true }));
    await server.ready();
    try {
      expect(declaredRouteAccess(server).get('GET /admin/added-without-permission')).toBeUndefined();
      await operators.create({
        email: 'sup@example.com',
        role: 'supervisor',
        tenants: ['*'],
        password: PASSWORD,
      });
      const session = await signIn(server, 'sup@example.com');
      const response = await call(server, 'GET /admin/added-without-permission', { session });
      expect(response.statusCode).toBe(403);
      expect(
        (await call(server, 'GET /admin/added-without-permission', { bearer: BOOTSTRAP })).statusCode,
      ).toBe(200);
    } finally {
      await server.close();
      await store.close();
    }
  });

  it('asks for security.metricsToken on /metrics when it is set', async () => {
    const metricsToken = 'matrix-metrics-token-0000000000000';
    const guarded = hubConfigSchema.parse({ ...config, security: { metricsToken } });
    const server = await buildServer({ config: guarded, connectors: [], readiness: [] });
    try {
      expect((await server.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(401);
      const wrong = await server.inject({
        method: 'GET',
        url: '/metrics',
        headers: { authorization: 'Bearer nope' },
      });
      expect(wrong.json().error.code).toBe('metrics.unauthorized');
      const right = await server.inject({
        method: 'GET',
        url: '/metrics',
        headers: { authorization: `Bearer ${metricsToken}` },
      });
      expect(right.statusCode).toBe(200);
      expect(right.body).toContain('hub_');
    } finally {
      await server.close();
    }
    // Unset (the default): open, as before.
    expect((await app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(200);
  });
});
