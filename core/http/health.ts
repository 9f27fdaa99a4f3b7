import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { readinessUp, registry } from '../metrics';
import { withDeadline } from '../resilience/deadline';
import { metricsTokenGuard } from '../security/metrics-token';
import type { RouteDoc } from './route-doc';

export interface ReadinessCheck {
  name: string;
  check: () => Promise<void>;
}

export interface HealthChecks {
  /** What this process itself needs to serve (database, bus): these alone decide /readyz. */
  readiness: ReadinessCheck[];
  /**
   * Third-party platforms (channel:<id>). Reported on /healthz/channels and /metrics for alerting,
   * never in the readiness verdict: one platform's outage must not take every API pod out of service.
   */
  channelHealth?: ReadinessCheck[];
  /** How long one check may take before it counts as down (server.readinessTimeoutMs). */
  timeoutMs?: number;
}

export const DEFAULT_CHECK_TIMEOUT_MS = 1_000;

type CheckResult = readonly [name: string, status: string];

/** A check still running from an earlier probe: the next probe waits on it instead of starting another. */
const inFlight = new WeakMap<ReadinessCheck, Promise<void>>();

/**
 * Run every check side by side, each given at most `timeoutMs`: a dependency that hangs (a paused
 * Redis, a database behind a dead route) reads `down: timeout after <n> ms` instead of holding the
 * probe. A hung check is not started again by every probe; they share the one in flight.
 */
export async function runChecks(
  checks: ReadinessCheck[],
  timeoutMs = DEFAULT_CHECK_TIMEOUT_MS,
): Promise<CheckResult[]> {
  return Promise.all(
    checks.map(async (readinessCheck) => {
      let running = inFlight.get(readinessCheck);
      if (!running) {
        running = Promise.resolve()
          .then(() => readinessCheck.check())
          .finally(() => inFlight.delete(readinessCheck));
        inFlight.set(readinessCheck, running);
      }
      try {
        await withDeadline(running, timeoutMs);
        return [readinessCheck.name, 'ok'] as const;
      } catch (error) {
        return [readinessCheck.name, `down: ${(error as Error).message}`] as const;
      }
    }),
  );
}

const allOk = (results: CheckResult[]) => results.every(([, status]) => status === 'ok');

const checksSchema = z
  .record(z.string(), z.string())
  .describe('Each check by name ("database", "bus", "channel:<id>"): "ok" or "down: <reason>"');
const readinessSchema = z.object({ status: z.enum(['ready', 'not ready']), checks: checksSchema });
const channelHealthSchema = z.object({ status: z.enum(['ok', 'degraded']), checks: checksSchema });

const DOCS = {
  healthz: {
    summary: 'Liveness: the process is up',
    tags: ['health'],
    responses: { 200: { description: 'Up', schema: z.object({ status: z.literal('ok') }) } },
  },
  readyz: {
    summary: "Readiness: this process's own dependencies (database, bus)",
    description: 'Channel platforms are listed for the eye but never make this 503.',
    tags: ['health'],
    responses: {
      200: { description: 'Ready to take traffic', schema: readinessSchema },
      503: { description: 'A dependency of this process is down', schema: readinessSchema },
    },
  },
  channels: {
    summary: "The channel platforms' health, for alerting",
    tags: ['health'],
    responses: {
      200: { description: 'Every platform answers', schema: channelHealthSchema },
      503: { description: 'At least one platform is down', schema: channelHealthSchema },
    },
  },
  metrics: {
    summary: 'Prometheus metrics (hub_* series, HTTP request durations, process)',
    tags: ['health'],
    responses: {
      200: { description: 'Prometheus text exposition format', contentType: 'text/plain; version=0.0.4' },
    },
  },
} satisfies Record<string, RouteDoc>;

/**
 * /healthz (process up: liveness), /readyz (own dependencies: readiness), /healthz/channels
 * (platforms) and /metrics, which refreshes hub_readiness_up from the same checks first.
 */
export function registerHealthRoutes(
  app: FastifyInstance,
  { readiness, channelHealth = [], timeoutMs }: HealthChecks,
  options: { metricsToken?: string } = {},
): void {
  app.get('/healthz', { config: { openapi: DOCS.healthz } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { config: { openapi: DOCS.readyz } }, async (_request, reply) => {
    const [own, channels] = await Promise.all([
      runChecks(readiness, timeoutMs),
      runChecks(channelHealth, timeoutMs),
    ]);
    const ready = allOk(own);
    // Channel states are listed for the operator's eye; only the pod's own checks set the status.
    return reply
      .code(ready ? 200 : 503)
      .send({ status: ready ? 'ready' : 'not ready', checks: Object.fromEntries([...own, ...channels]) });
  });
  app.get('/healthz/channels', { config: { openapi: DOCS.channels } }, async (_request, reply) => {
    const results = await runChecks(channelHealth, timeoutMs);
    const healthy = allOk(results);
    return reply
      .code(healthy ? 200 : 503)
      .send({ status: healthy ? 'ok' : 'degraded', checks: Object.fromEntries(results) });
  });
  app.get(
    '/metrics',
    { onRequest: metricsTokenGuard(options.metricsToken), config: { openapi: DOCS.metrics } },
    async (_request, reply) => {
      await refreshReadinessGauge({ readiness, channelHealth, timeoutMs });
      reply.header('content-type', registry.contentType);
      return registry.metrics();
    },
  );
}

/** Set hub_readiness_up from every check, own and channel, right before a scrape. */
export async function refreshReadinessGauge({
  readiness,
  channelHealth = [],
  timeoutMs,
}: HealthChecks): Promise<void> {
  for (const [name, status] of await runChecks([...readiness, ...channelHealth], timeoutMs)) {
    readinessUp.set({ check: name }, status === 'ok' ? 1 : 0);
  }
}
