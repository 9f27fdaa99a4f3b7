import { timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

export function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return v4 === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}

/** The Host header's name without the port; `[::1]:3000` → `[::1]`. */
function hostName(host: string | undefined): string {
  if (!host) return '';
  return host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : (host.split(':')[0] ?? '');
}

function sameSecret(expected: string, given: string): boolean {
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Guard of the admin routes. With a token: `Authorization: Bearer <token>` or 401. Without one:
 * loopback clients only, addressed by a loopback name (a DNS-rebound page cannot use them).
 * Writes must be JSON: a cross-site form or `no-cors` fetch cannot send that without a CORS
 * preflight the hub never grants, so a page in the agent's browser cannot act for the agent.
 */
export function adminGuard(currentToken: () => string | undefined) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    // Read per request, as core/http/admin-auth.ts does: rotating the token needs no restart.
    const token = currentToken();
    if (token) {
      const header = request.headers.authorization ?? '';
      const given = header.startsWith('Bearer ') ? header.slice(7).trim() : '';
      if (!given || !sameSecret(token, given)) {
        return reply.code(401).send({
          error: {
            code: 'admin.unauthorized',
            message: 'Send Authorization: Bearer <the HUB_ADMIN_TOKEN the hub was started with>',
          },
        });
      }
    } else if (
      !isLoopbackAddress(request.socket.remoteAddress) ||
      !LOOPBACK_HOSTS.has(hostName(request.headers.host))
    ) {
      return reply.code(403).send({
        error: {
          code: 'admin.loopback_only',
          message:
            'HUB_ADMIN_TOKEN is not set, so the admin routes answer only http://127.0.0.1 or http://localhost on the hub machine. Set HUB_ADMIN_TOKEN to use them from elsewhere.',
        },
      });
    }
    if (request.method === 'POST' && !request.headers['content-type']?.startsWith('application/json')) {
      return reply.code(415).send({
        error: { code: 'admin.json_only', message: 'Send the body as application/json (e.g. {})' },
      });
    }
  };
}
