import Fastify from 'fastify';
import { registerHealthRoutes } from '../core/http/health';
import { measureRequestDurations } from '../core/http/metrics';
import { type ServerTlsConfig, serverTlsOptions } from '../core/security/tls';
import type { EventBus, HubStore } from '../core/types';
import { HubError } from '../core/types';

export interface WorkerOpsServer {
  url: string;
  close(): Promise<void>;
}

/**
 * A worker-only process (`--role worker`) serves no channels, but its turns are what the dashboards
 * measure (stage latencies, LLM calls, replies) and an orchestrator wants to probe it. With a port
 * (HUB_WORKER_PORT, else `server.workerPort`) it serves /healthz, /readyz (database, bus) and
 * /metrics there; with neither, nothing listens (several workers on one machine need no ports).
 * With server.tls it serves them over HTTPS.
 */
export async function startWorkerOps(
  hub: {
    bus: Pick<EventBus, 'ping'>;
    store: Pick<HubStore, 'ping'>;
    workerPort?: number;
    /** server.tls: the same certificate as the api's, TLS 1.3 minimum. */
    tls?: ServerTlsConfig;
    metricsToken?: string;
  },
  env: NodeJS.ProcessEnv = process.env,
): Promise<WorkerOpsServer | undefined> {
  const raw = env.HUB_WORKER_PORT || (hub.workerPort === undefined ? '' : String(hub.workerPort));
  if (raw === '') return undefined;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new HubError(
      'config.invalid',
      `HUB_WORKER_PORT is "${raw}"; set it to a port number, e.g. 9464, or unset it (and server.workerPort) for no worker HTTP server.`,
    );
  }
  const https = serverTlsOptions(hub.tls);
  const app = Fastify({ logger: false, https: https ?? null });
  measureRequestDurations(app);
  registerHealthRoutes(
    app,
    {
      readiness: [
        { name: 'database', check: () => hub.store.ping() },
        { name: 'bus', check: () => hub.bus.ping() },
      ],
    },
    { metricsToken: hub.metricsToken },
  );
  const url = await app.listen({ host: env.HOST || '127.0.0.1', port });
  return { url, close: () => app.close() };
}
