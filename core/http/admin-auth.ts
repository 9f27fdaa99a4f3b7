import type { FastifyReply, FastifyRequest } from 'fastify';
import { constantTimeEqual } from '../resilience/constant-time';
import type {} from '../security/caller';

export const ADMIN_TOKEN_ENV = 'HUB_ADMIN_TOKEN';

/** The admin token as the hub sees it now; an empty value counts as unset. */
export const adminTokenFromEnv = (): string | undefined => process.env[ADMIN_TOKEN_ENV] || undefined;

export function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return v4 === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}

/** Whether the Host header names this machine: `localhost`, `127.x.y.z` or `[::1]`, any port. */
export function isLoopbackHost(host: string | undefined): boolean {
  if (!host) return false;
  const name = (
    host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : (host.split(':')[0] ?? '')
  ).toLowerCase();
  return name === 'localhost' || name === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name);
}

/** Methods that carry no body: a write among them (DELETE) cannot come from a cross-site form either. */
export const BODYLESS = new Set(['GET', 'HEAD', 'OPTIONS', 'DELETE']);

/**
 * The one rule of every admin route (`/admin/...`: files, tickets, the WhatsApp Web QR code):
 *
 * - `HUB_ADMIN_TOKEN` set: `Authorization: Bearer <token>` is required, from anywhere (loopback
 *   too), compared in constant time; otherwise 401.
 * - unset: only clients on this machine (127.0.0.0/8, ::1) that address it by a loopback name
 *   (`localhost`, `127.0.0.1`, `[::1]`) get in; otherwise 403. The Host check keeps out a page
 *   whose DNS name was re-bound to 127.0.0.1; a reverse proxy on the same machine that passes its
 *   own Host is kept out too, so set the token behind one.
 * - writes must be `application/json`: a cross-site form or `no-cors` fetch cannot send that
 *   without a CORS preflight the hub never grants, so a page in the operator's browser cannot act
 *   for them (415 otherwise).
 *
 * The token is read per request (`token`, default the environment): rotating it needs no restart.
 */
export function adminGuard(token: () => string | undefined = adminTokenFromEnv) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    // The hub's access guard (core/security/guard.ts) already let this caller in, by role and permission.
    if (request.caller) return;
    const expected = token();
    if (expected) {
      const given = /^Bearer[ \t]+(\S+)\s*$/i.exec(request.headers.authorization ?? '')?.[1] ?? '';
      if (!given || !constantTimeEqual(expected, given)) {
        return reply
          .header('www-authenticate', 'Bearer realm="hub-admin"')
          .code(401)
          .send({
            error: {
              code: 'admin.unauthorized',
              message: `Send Authorization: Bearer <the ${ADMIN_TOKEN_ENV} the hub runs with>.`,
            },
          });
      }
    } else if (!isLoopbackAddress(request.socket.remoteAddress) || !isLoopbackHost(request.headers.host)) {
      return reply.code(403).send({
        error: {
          code: 'admin.loopback_only',
          message: `${ADMIN_TOKEN_ENV} is not set, so the admin routes answer only http://127.0.0.1 or http://localhost on the hub machine. Fix: export ${ADMIN_TOKEN_ENV} (a long random string) for the hub and send it as a bearer token.`,
        },
      });
    }
    if (!BODYLESS.has(request.method) && !request.headers['content-type']?.startsWith('application/json')) {
      return reply.code(415).send({
        error: { code: 'admin.json_only', message: 'Send the body as application/json (e.g. {}).' },
      });
    }
  };
}

/** `onRequest` hook for an admin route under the environment's token (the usual case). */
export const requireAdmin = adminGuard();
