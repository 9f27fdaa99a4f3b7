import type { FastifyInstance } from 'fastify';
import { readinessUp, registry } from '../metrics';

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
}

type CheckResult = readonly [name: string, status: string];

export async function runChecks(checks: ReadinessCheck[]): Promise<CheckResult[]> {
  return Promise.all(
    checks.map(async ({ name, check }) => {
      try {
        await check();
        return [name, 'ok'] as const;
      } catch (error) {
        return [name, `down: ${(error as Error).message}`] as const;
      }
    }),
  );
}

const allOk = (results: CheckResult[]) => results.every(([, status]) => status === 'ok');

/**
 * /healthz (process up: liveness), /readyz (own dependencies: readiness), /healthz/channels
 * (platforms) and /metrics, which refreshes hub_readiness_up from the same checks first.
 */
export function registerHealthRoutes(
  app: FastifyInstance,
  { readiness, channelHealth = [] }: HealthChecks,
): void {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const [own, channels] = await Promise.all([runChecks(readiness), runChecks(channelHealth)]);
    const ready = allOk(own);
    // Channel states are listed for the operator's eye; only the pod's own checks set the status.
    return reply
      .code(ready ? 200 : 503)
      .send({ status: ready ? 'ready' : 'not ready', checks: Object.fromEntries([...own, ...channels]) });
  });
  app.get('/healthz/channels', async (_request, reply) => {
    const results = await runChecks(channelHealth);
    const healthy = allOk(results);
    return reply
      .code(healthy ? 200 : 503)
      .send({ status: healthy ? 'ok' : 'degraded', checks: Object.fromEntries(results) });
  });
  app.get('/metrics', async (_request, reply) => {
    await refreshReadinessGauge({ readiness, channelHealth });
    reply.header('content-type', registry.contentType);
    return registry.metrics();
  });
}

/** Set hub_readiness_up from every check, own and channel, right before a scrape. */
export async function refreshReadinessGauge({ readiness, channelHealth = [] }: HealthChecks): Promise<void> {
  for (const [name, status] of await runChecks([...readiness, ...channelHealth])) {
    readinessUp.set({ check: name }, status === 'ok' ? 1 : 0);
  }
}
