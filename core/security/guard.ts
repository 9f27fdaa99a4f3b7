import cookie from '@fastify/cookie';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { SecurityConfig } from '../config/security-schema';
import { adminGuard, adminTokenFromEnv, BODYLESS } from '../http/admin-auth';
import { constantTimeEqual } from '../resilience/constant-time';
import type { Caller } from './caller';
import { SESSION_COOKIE } from './cookies';
import type { OperatorStore } from './operator-store';
import { inTenantScope, isPermission, PUBLIC, type RouteAccess, roleAllows } from './permissions';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

const declaredByServer = new WeakMap<FastifyInstance, Map<string, RouteAccess | undefined>>();

/**
 * `METHOD /path/{param}` → the access each route of a guarded server declared (undefined: none),
 * for the permission matrix test and anyone asking which route needs what.
 */
export function declaredRouteAccess(app: FastifyInstance): ReadonlyMap<string, RouteAccess | undefined> {
  return declaredByServer.get(app) ?? new Map();
}
export const CSRF_HEADER = 'x-csrf-token';

const deny = (reply: FastifyReply, status: number, code: string, message: string) =>
  reply.code(status).send({ error: { code, message } });

export interface AccessControlOptions {
  operators: OperatorStore;
  security: SecurityConfig;
  /** The bootstrap token (HUB_ADMIN_TOKEN), read per request. */
  adminToken?: () => string | undefined;
}

/**
 * The one guard of every admin and agent route: session cookie or bearer token → operator (or
 * machine token) → role → the permission the route declares (`config.permission`) → the tenant,
 * where the route names one (`config.tenantOf`). An `/admin` route that declares nothing is
 * admin-only, and the permission matrix test fails on it.
 *
 * - A session cookie (httpOnly, SameSite=Strict) also needs `X-CSRF-Token` (its session's token,
 *   from GET /admin/me) on every write: a synchronizer token, so a page elsewhere cannot write even
 *   where SameSite does not hold.
 * - A bearer token from `security.tokens` acts with its configured role and tenants.
 * - HUB_ADMIN_TOKEN, or loopback when it is unset (core/http/admin-auth.ts), is the bootstrap
 *   admin; loopback without a token only until the first operator account exists.
 */
export class AccessControl {
  private readonly adminToken: () => string | undefined;

  constructor(private readonly options: AccessControlOptions) {
    this.adminToken = options.adminToken ?? adminTokenFromEnv;
  }

  get operators(): OperatorStore {
    return this.options.operators;
  }

  get sessionTtlMs(): number {
    return this.options.security.sessionTtlHours * 3_600_000;
  }

  /** Cookie parsing and the guard, on the root instance before any route is added. */
  async install(app: FastifyInstance): Promise<void> {
    await app.register(cookie);
    const declared = new Map<string, RouteAccess | undefined>();
    declaredByServer.set(app, declared);
    app.addHook('onRoute', (route) => {
      const path = route.url.replace(/:(\w+)/g, '{$1}');
      for (const method of [route.method].flat()) declared.set(`${method} ${path}`, route.config?.permission);
    });
    app.addHook('onRequest', (request, reply) => this.check(request, reply));
  }

  async check(request: FastifyRequest, reply: FastifyReply): Promise<unknown> {
    const config = request.routeOptions.config ?? {};
    const access = config.permission;
    const url = request.routeOptions.url ?? '';
    if (access === PUBLIC) {
      const session = await this.fromSession(request);
      if (session !== 'csrf') request.caller = session;
      return;
    }
    if (access === undefined && !url.startsWith('/admin')) return;

    const session = await this.fromSession(request);
    if (session === 'csrf') {
      return deny(
        reply,
        403,
        'access.csrf',
        `Send the session's CSRF token (GET /admin/me) as ${CSRF_HEADER}.`,
      );
    }
    const caller = session ?? this.fromMachineToken(request);
    if (caller) request.caller = caller;
    else {
      // The bootstrap: HUB_ADMIN_TOKEN, or this machine while no token is set and no operator exists.
      if (!this.adminToken() && (await this.operators.count()) > 0) {
        return deny(reply, 401, 'access.login_required', 'Log in at /login (or send a bearer token).');
      }
      await adminGuard(this.adminToken)(request, reply);
      if (reply.sent) return reply;
      request.caller = { kind: 'bootstrap', id: 'bootstrap', name: 'Admin', role: 'admin', tenants: ['*'] };
    }
    const who = request.caller as Caller;

    const allowed = isPermission(access) ? roleAllows(who.role, access) : who.role === 'admin';
    if (!allowed) {
      return deny(
        reply,
        403,
        'access.forbidden',
        `The ${who.role} role may not ${request.method} ${url}${isPermission(access) ? ` (needs ${access})` : ''}.`,
      );
    }
    const tenant = config.tenantOf?.(request);
    if (tenant !== undefined && !inTenantScope(who.tenants, tenant)) {
      return deny(reply, 403, 'access.tenant', `Tenant ${tenant} is outside your scope.`);
    }
    if (!BODYLESS.has(request.method) && !request.headers['content-type']?.startsWith('application/json')) {
      return deny(reply, 415, 'admin.json_only', 'Send the body as application/json (e.g. {}).');
    }
  }

  /** The caller of a live session cookie; on a write, only with the session's CSRF token. */
  private async fromSession(request: FastifyRequest): Promise<Caller | 'csrf' | undefined> {
    const token = request.cookies?.[SESSION_COOKIE];
    if (!token) return undefined;
    const session = await this.operators.session(token);
    if (!session) return undefined;
    if (!SAFE_METHODS.has(request.method)) {
      const given = request.headers[CSRF_HEADER];
      if (typeof given !== 'string' || !constantTimeEqual(session.csrfToken, given)) return 'csrf';
    }
    const { operator } = session;
    return {
      kind: 'operator',
      id: operator.id,
      name: operator.displayName,
      email: operator.email,
      role: operator.role,
      tenants: operator.tenants,
    };
  }

  private fromMachineToken(request: FastifyRequest): Caller | undefined {
    const given = /^Bearer[ \t]+(\S+)\s*$/i.exec(request.headers.authorization ?? '')?.[1];
    if (!given) return undefined;
    // Every configured token is compared, so the time taken does not say which one nearly matched.
    let match: SecurityConfig['tokens'][number] | undefined;
    for (const entry of this.options.security.tokens) {
      if (constantTimeEqual(entry.token, given)) match = entry;
    }
    return (
      match && { kind: 'token', id: match.name, name: match.name, role: match.role, tenants: match.tenants }
    );
  }
}
