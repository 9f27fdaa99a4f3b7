import type { FastifyReply, FastifyRequest } from 'fastify';
import { constantTimeEqual } from '../resilience/constant-time';

/**
 * `onRequest` hook for GET /metrics when `security.metricsToken` is set: Prometheus sends it as
 * `authorization: Bearer` (its scrape config's `authorization.credentials`). Unset: open, as
 * before, for a scraper on a private network.
 */
export function metricsTokenGuard(token: string | undefined) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    if (!token) return;
    const given = /^Bearer[ \t]+(\S+)\s*$/i.exec(request.headers.authorization ?? '')?.[1] ?? '';
    if (!constantTimeEqual(token, given)) {
      return reply
        .header('www-authenticate', 'Bearer realm="hub-metrics"')
        .code(401)
        .send({
          error: {
            code: 'metrics.unauthorized',
            message: 'Send Authorization: Bearer <security.metricsToken>.',
          },
        });
    }
  };
}
