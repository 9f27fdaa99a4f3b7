import type { ServerOptions as SecureServerOptions } from 'node:https';
import websocket from '@fastify/websocket';
import Fastify, { type FastifyError, type FastifyInstance, LogController } from 'fastify';
import { z } from 'zod';
import type { Connector } from '../channels/types';
import type { HubConfig } from '../config/schema';
import { logger } from '../log';
import { errors } from '../metrics';
import { isOutage } from '../resilience/outage';
import type { AccessLimits } from '../security/access-limits';
import type { AuditSink } from '../security/audit';
import { registerAuthThrottle } from '../security/auth-throttle';
import { registerSessionRoutes, type SessionRoutesOptions } from '../security/routes';
import { serverTlsOptions } from '../security/tls';
import { HubError } from '../types';
import { registerAdminFileRoute } from './admin-files';
import { type HealthChecks, registerHealthRoutes } from './health';
import { installDepthLimitedJsonParser } from './json-body';
import { measureRequestDurations } from './metrics';
import { RouteCatalog, registerOpenApiRoute } from './openapi';
import type { RouteDoc } from './route-doc';

export type { ReadinessCheck } from './health';

export interface ServerDeps extends HealthChecks {
  config: HubConfig;
  connectors: Connector[];
  /** HTTPS options already read from server.tls (startHub reads them first, to fail fast); default: read here. */
  https?: SecureServerOptions;
  /** security.rateLimits; without it (unit tests) failed authentications are not throttled. */
  limits?: AccessLimits;
  /** Where operator actions of the core admin routes (file downloads) are recorded. */
  audit?: AuditSink;
  /** Operators, roles and sign-in (core/security); without it admin routes keep the bootstrap token rule alone. */
  security?: SessionRoutesOptions;
}

/** What a 503 for a dependency that is down asks the client to wait before trying again. */
const OUTAGE_RETRY_AFTER_SECONDS = 1;

const ROOT_DOC: RouteDoc = {
  summary: 'The web chat page when a web chat channel is on; otherwise who answers here',
  tags: ['health'],
  responses: {
    200: { description: 'No web chat channel', schema: z.object({ service: z.literal('hub') }) },
    302: {
      description: 'Redirect to the web chat page',
      headers: [{ name: 'location', description: 'The page' }],
    },
  },
};

/** One HTTP server for every channel, health, readiness, metrics and the API description (/openapi.json). */
export async function buildServer({
  config,
  connectors,
  https = serverTlsOptions(config.server.tls),
  limits,
  audit,
  security,
  ...health
}: ServerDeps): Promise<FastifyInstance> {
  // Fastify types an instance by its logger; connectors take the base type, which a pino logger satisfies.
  const app: FastifyInstance = Fastify({
    https: https ?? null,
    loggerInstance: logger.child({ component: 'http' }),
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.server.bodyLimitBytes,
    ...(config.server.trustProxy ? { trustProxy: config.server.trustProxy } : {}),
    // Behind a proxy the platform sees the public URL; inside, request ids tie logs together.
    genReqId: () => crypto.randomUUID(),
  }) as unknown as FastifyInstance;
  // Before any route: every route registered from here on is in the API description.
  const catalog = new RouteCatalog(app);
  // Deeper JSON is a 400 before it is parsed; larger bodies are Fastify's 413 (bodyLimit above).
  installDepthLimitedJsonParser(app, config.server.maxJsonDepth);
  measureRequestDurations(app);
  if (limits) registerAuthThrottle(app, limits);
  app.setErrorHandler((error: FastifyError | HubError, request, reply) => {
    let status = error instanceof HubError ? error.status : (error.statusCode ?? 500);
    let code = error instanceof HubError ? error.code : (error.code ?? 'internal');
    let retryAfterSeconds = error instanceof HubError ? error.retryAfterSeconds : undefined;
    // A dependency that is down or saturated (PostgreSQL's pool timing out, Redis away) is not a
    // fault of this request: 503 and a time to come back, never a 500.
    if (status >= 500 && status !== 503 && isOutage(error)) {
      status = 503;
      code = error instanceof HubError ? code : 'dependency.unavailable';
      retryAfterSeconds ??= OUTAGE_RETRY_AFTER_SECONDS;
    }
    errors.inc({ stage: 'http', code });
    const refusal = error instanceof HubError && error.refusal;
    if (status >= 500 && !refusal) request.log.error({ err: { code, name: error.name } }, 'request failed');
    else request.log.info({ code, status, url: request.routeOptions.url }, 'request rejected');
    // Client errors and refusals say what was wrong; server errors say nothing about internals.
    const message = status >= 500 && !refusal ? 'Internal error' : error.message;
    if (retryAfterSeconds !== undefined) void reply.header('retry-after', String(retryAfterSeconds));
    void reply.code(status).send({ error: { code, message } });
  });
  app.setNotFoundHandler((request, reply) => {
    void reply
      .code(404)
      .send({ error: { code: 'not_found', message: `No route ${request.method} ${request.url}` } });
  });

  await app.register(websocket, { options: { maxPayload: 64 * 1024 } });
  // The guard before any route: it reads each route's declared permission as requests arrive.
  if (security) {
    await security.access.install(app);
    await registerSessionRoutes(app, security);
  }

  registerHealthRoutes(
    app,
    { ...health, timeoutMs: health.timeoutMs ?? config.server.readinessTimeoutMs },
    { metricsToken: config.security.metricsToken },
  );
  registerOpenApiRoute(app, catalog);
  app.get('/', { config: { openapi: ROOT_DOC } }, async (_request, reply) => {
    const webchat = connectors.find((c) => c.type === 'webchat');
    return webchat
      ? reply.redirect(webchat.id === 'webchat' ? '/chat' : `/webchat/${webchat.id}/`)
      : { service: 'hub' };
  });

  registerAdminFileRoute(app, connectors, {
    audit,
    tenantOfChannel: (id) => config.channels.find((c) => c.id === id)?.tenant,
  });
  for (const connector of connectors) await connector.register(app);
  return app;
}
