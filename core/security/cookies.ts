import type { FastifyReply, FastifyRequest } from 'fastify';

/** The session cookie: httpOnly, SameSite=Strict, Secure when the request came over HTTPS. */
export const SESSION_COOKIE = 'hub_session';

const isHttps = (request: FastifyRequest) => request.protocol === 'https';

export function setSessionCookie(
  request: FastifyRequest,
  reply: FastifyReply,
  token: string,
  ttlMs: number,
): void {
  void reply.setCookie(SESSION_COOKIE, token, {
    path: '/',
    httpOnly: true,
    // Strict holds here: the login page and the OIDC callback set it; no cross-site page needs it sent.
    sameSite: 'strict',
    secure: isHttps(request),
    maxAge: Math.floor(ttlMs / 1000),
  });
}

export function clearSessionCookie(request: FastifyRequest, reply: FastifyReply): void {
  void reply.clearCookie(SESSION_COOKIE, {
    path: '/',
    httpOnly: true,
    sameSite: 'strict',
    secure: isHttps(request),
  });
}
