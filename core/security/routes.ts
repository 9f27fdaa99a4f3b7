import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { operatorPageHeaders } from '../http/page-headers';
import { logger } from '../log';
import { HubError } from '../types/errors';
import { clearSessionCookie, SESSION_COOKIE, setSessionCookie } from './cookies';
import type { OperatorEvent, OperatorEventHook } from './events';
import type { AccessControl } from './guard';
import type { OidcLogin } from './oidc';
import { safeReturnPath } from './oidc';
import type { Operator } from './operator-store';
import { decoyHash, verifyPassword } from './passwords';
import { PERMISSIONS, type Permission, roleAllows } from './permissions';
import { loginDocs } from './routes-doc';

const publicDir = join(dirname(fileURLToPath(import.meta.url)), 'public');

const PAGE_HEADERS = operatorPageHeaders({ formAction: 'self', cache: 'no-store' });

export const loginBody = z.object({
  email: z.string().trim().min(1).max(320),
  password: z.string().min(1).max(1024),
});

export interface SessionRoutesOptions {
  access: AccessControl;
  oidc?: OidcLogin;
  onOperatorEvent?: OperatorEventHook;
}

const profile = (operator: Pick<Operator, 'id' | 'email' | 'displayName' | 'role' | 'tenants'>) => ({
  id: operator.id,
  email: operator.email,
  displayName: operator.displayName,
  role: operator.role,
  tenants: operator.tenants,
});

/**
 * Sign-in and the session: GET /login (the page), POST /auth/login (password), GET /auth/oidc/start
 * and /auth/oidc/callback (single sign-on), POST /auth/logout, GET /admin/me (who am I, my
 * permissions and the CSRF token for writes).
 */
export async function registerSessionRoutes(
  app: FastifyInstance,
  options: SessionRoutesOptions,
): Promise<void> {
  const { access, oidc } = options;
  const { operators } = access;
  const emit = async (event: OperatorEvent) => {
    logger.info({ component: 'security', event: event.type }, 'operator event');
    try {
      await options.onOperatorEvent?.(event);
    } catch (error) {
      logger.error({ err: error, event: event.type }, 'operator event hook failed');
    }
  };
  const [html, js] = await Promise.all([
    readFile(join(publicDir, 'login.html'), 'utf8'),
    readFile(join(publicDir, 'login.js'), 'utf8'),
  ]);
  const page = oidc
    ? html.replace('<!--sso-->', '<p><a id="sso" href="/auth/oidc/start">Sign in with single sign-on</a></p>')
    : html;

  const login = async (
    request: FastifyRequest,
    operator: Operator,
    method: 'password' | 'oidc',
    reply: Parameters<typeof setSessionCookie>[1],
  ) => {
    const { token, csrfToken } = await operators.openSession(operator, method, access.sessionTtlMs);
    setSessionCookie(request, reply, token, access.sessionTtlMs);
    await emit({ type: 'login', method, operatorId: operator.id, email: operator.email, ip: request.ip });
    return csrfToken;
  };

  app.get('/login', { config: { permission: 'public', openapi: loginDocs.page } }, async (_request, reply) =>
    reply.headers(PAGE_HEADERS).type('text/html').send(page),
  );
  app.get(
    '/login/login.js',
    { config: { permission: 'public', openapi: loginDocs.script } },
    async (_r, reply) => reply.headers(PAGE_HEADERS).type('text/javascript; charset=utf-8').send(js),
  );

  app.post(
    '/auth/login',
    { config: { permission: 'public', openapi: loginDocs.login } },
    async (request, reply) => {
      const parsed = loginBody.safeParse(request.body);
      if (!parsed.success) {
        throw new HubError('auth.bad_request', 'Body: {"email": "...", "password": "..."}', { status: 400 });
      }
      const found = await operators.passwordHashOf(parsed.data.email);
      // Every failure costs one scrypt and says the same, so neither time nor text tells which part was wrong.
      const matches = await verifyPassword(parsed.data.password, found?.hash ?? (await decoyHash()));
      if (!found?.hash || !matches || found.operator.disabled) {
        const reason = !found ? 'unknown' : found.operator.disabled ? 'disabled' : 'password';
        await emit({
          type: 'login_failed',
          method: 'password',
          email: parsed.data.email.slice(0, 320),
          reason,
          ip: request.ip,
        });
        throw new HubError('auth.invalid_credentials', 'Wrong e-mail or password.', { status: 401 });
      }
      const csrfToken = await login(request, found.operator, 'password', reply);
      return { operator: profile(found.operator), csrfToken };
    },
  );

  app.post(
    '/auth/logout',
    { config: { permission: 'session.self', openapi: loginDocs.logout } },
    async (request, reply) => {
      const token = request.cookies[SESSION_COOKIE];
      if (token) await operators.closeSession(token);
      clearSessionCookie(request, reply);
      const caller = request.caller;
      if (caller?.kind === 'operator')
        await emit({ type: 'logout', operatorId: caller.id, email: caller.email, ip: request.ip });
      return { status: 'logged_out' };
    },
  );

  app.get('/admin/me', { config: { permission: 'session.self', openapi: loginDocs.me } }, async (request) => {
    const caller = request.caller;
    if (!caller) throw new HubError('access.login_required', 'Log in at /login.', { status: 401 });
    const token = request.cookies[SESSION_COOKIE];
    const session = caller.kind === 'operator' && token ? await operators.session(token) : undefined;
    return {
      operator: {
        id: caller.id,
        kind: caller.kind,
        email: caller.email,
        displayName: caller.name,
        role: caller.role,
        tenants: caller.tenants,
      },
      permissions: (Object.keys(PERMISSIONS) as Permission[]).filter((p) => roleAllows(caller.role, p)),
      ...(session ? { csrfToken: session.csrfToken } : {}),
    };
  });

  app.get<{ Querystring: { next?: string } }>(
    '/auth/oidc/start',
    { config: { permission: 'public', openapi: loginDocs.oidcStart } },
    async (request, reply) => {
      if (!oidc)
        throw new HubError('oidc.not_configured', 'Single sign-on is not configured (security.oidc).', {
          status: 404,
        });
      return reply.redirect((await oidc.start(safeReturnPath(request.query.next))).href);
    },
  );

  app.get(
    '/auth/oidc/callback',
    { config: { permission: 'public', openapi: loginDocs.oidcCallback } },
    async (request, reply) => {
      if (!oidc)
        throw new HubError('oidc.not_configured', 'Single sign-on is not configured (security.oidc).', {
          status: 404,
        });
      // The URL the issuer redirected to, as registered: the hub may sit behind a proxy.
      const callback = new URL(oidc.redirectUri);
      callback.search = new URL(request.url, 'http://hub.invalid').search;
      try {
        const { operator, returnTo } = await oidc.finish(callback);
        await login(request, operator, 'oidc', reply);
        return reply.redirect(returnTo);
      } catch (error) {
        if (error instanceof HubError && error.code.startsWith('oidc.')) {
          await emit({ type: 'login_failed', method: 'oidc', reason: error.code, ip: request.ip });
        }
        throw error;
      }
    },
  );
}
