import type { FastifyInstance } from 'fastify';
import { Histogram } from 'prom-client';
import { registry } from '../metrics';

/** Requests that matched no route share one label: raw URLs would make a series per scanner probe. */
export const UNMATCHED_ROUTE = 'unmatched';

export const httpRequestDuration = new Histogram({
  name: 'hub_http_request_duration_seconds',
  help: 'HTTP request duration from arrival to the end of the response, by method, route pattern and status code',
  labelNames: ['method', 'route', 'status_code'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  registers: [registry],
});

/**
 * Observe every response of `app` into hub_http_request_duration_seconds, labelled by the route
 * pattern (`/webhooks/:id/replies/:eventId`), never the URL, so ids do not multiply the series.
 */
export function measureRequestDurations(app: FastifyInstance): void {
  app.addHook('onResponse', async (request, reply) => {
    httpRequestDuration.observe(
      {
        method: request.method,
        route: request.routeOptions.url ?? UNMATCHED_ROUTE,
        status_code: String(reply.statusCode),
      },
      reply.elapsedTime / 1000,
    );
  });
}
