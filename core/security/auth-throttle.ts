import type { FastifyInstance, FastifyRequest } from 'fastify';
import { type AccessLimits, clientAddress, RateLimitedError, sendRateLimited } from './access-limits';

/** Where operators sign in, whatever the route's description says. */
const SIGN_IN_PATHS = /^\/(admin|console|auth|login)(\/|$)/;

/**
 * A request that authenticates: it carries credentials (a bearer token, an API key) or goes to an
 * admin or console route (the token guard, the operator login). Platform and helpdesk webhooks are
 * left out: a platform's signature failing (Teams' bearer token, a rotated secret) must not lock out the
 * platform's servers; those limits are per tenant.
 */
function authenticates(request: FastifyRequest): boolean {
  const doc = request.routeOptions.config?.openapi;
  if (doc?.tags.some((tag) => tag === 'webhooks' || tag === 'helpdesk')) return false;
  if (request.headers.authorization || request.headers['x-api-key']) return true;
  if (doc?.admin || doc?.tags.some((tag) => tag === 'admin' || tag === 'console')) return true;
  return SIGN_IN_PATHS.test(request.routeOptions.url ?? '');
}

/**
 * Failed authentications per client address with back-off (security.rateLimits.authFailures):
 * every 401 to an authenticating request counts; after `max` in `windowSeconds` each authenticating request from
 * that address gets 429, and each one made while refused doubles the wait, up to `maxBlockSeconds`.
 * It watches answers rather than guards, so the admin token, operator logins and API keys are
 * throttled alike without each guard knowing of it.
 */
export function registerAuthThrottle(app: FastifyInstance, limits: AccessLimits): void {
  const rule = limits.config.authFailures;
  const windowMs = rule.windowSeconds * 1000;
  // The back-off window after n refusals is window * 2^(n-1); stop counting once it reaches the cap.
  const maxRefusals = Math.max(1, Math.floor(Math.log2(rule.maxBlockSeconds / rule.windowSeconds)) + 1);
  const key = (request: FastifyRequest) => `auth.failures:${clientAddress(request)}`;
  const count = async (request: FastifyRequest) => {
    try {
      return await limits.backoff.incr(key(request), windowMs, rule.max);
    } catch (error) {
      request.log.warn({ err: error }, 'rate-limit store failed; failed authentication not counted');
      return undefined;
    }
  };

  app.addHook('onRequest', async (request, reply) => {
    if (!limits.config.enabled || !authenticates(request)) return;
    let state = await limits.backoff.read(key(request), windowMs).catch(() => undefined);
    if (!state || state.current < rule.max) return;
    if (state.current < rule.max + maxRefusals) state = (await count(request)) ?? state;
    const verdict = limits.refused('auth.failures', request.routeOptions.url ?? request.url, state.ttlMs);
    return sendRateLimited(reply, new RateLimitedError('auth.failures', verdict.retryAfterSeconds));
  });
  app.addHook('onResponse', async (request, reply) => {
    if (limits.config.enabled && reply.statusCode === 401 && authenticates(request)) await count(request);
  });
}
