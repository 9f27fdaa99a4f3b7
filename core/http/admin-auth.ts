import { timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

export const ADMIN_TOKEN_ENV = 'HUB_ADMIN_TOKEN';

/**
 * Fastify `onRequest` hook for admin routes: `Authorization: Bearer $HUB_ADMIN_TOKEN`, compared in
 * constant time. The token is read per request, so rotating it needs no restart; with none set
 * every admin request is refused (403) rather than left open.
 */
export async function requireAdminToken(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const expected = process.env[ADMIN_TOKEN_ENV];
  if (!expected) {
    return reply.code(403).send({
      error: {
        code: 'admin.disabled',
        message: `The admin API is off. Fix: export ${ADMIN_TOKEN_ENV} (a long random string) for the hub and send it as a bearer token.`,
      },
    });
  }
  const presented = /^Bearer (.+)$/i.exec(request.headers.authorization ?? '')?.[1] ?? '';
  const a = Buffer.from(presented);
  const b = Buffer.from(expected);
  if (a.length !== b.length || !timingSafeEqual(a, b)) {
    return reply
      .header('www-authenticate', 'Bearer realm="hub-admin"')
      .code(401)
      .send({
        error: {
          code: 'admin.unauthorized',
          message: `Send Authorization: Bearer <${ADMIN_TOKEN_ENV}>.`,
        },
      });
  }
}
