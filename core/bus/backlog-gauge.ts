import { Gauge } from 'prom-client';
import { logger } from '../log';
import { registry } from '../metrics';
import { withDeadline } from '../resilience/deadline';
import type { EventBus, TenantBacklog } from '../types';
import type { WorkerHeartbeats } from './heartbeats';

const buses = new Set<EventBus>();
const heartbeatSets = new Set<WorkerHeartbeats>();
/** A paused Redis must not hold the whole scrape: /metrics answers, with the last values. */
const SCRAPE_DEADLINE_MS = 1_000;

/**
 * Gauges read at scrape time. The queue is shared by every process on it, so any api pod reports
 * the whole bus; several buses in one process (tests) report the largest, never a sum that would
 * count one shared queue twice. When the bus does not answer the last value is kept rather than 0:
 * a scaler must not shrink the workers because Redis hiccupped (hub_readiness_up{check="bus"} shows
 * the outage).
 */
function scrapedMax(name: string, help: string, read: () => Array<Promise<number>>): void {
  new Gauge({
    name,
    help,
    registers: [registry],
    async collect() {
      try {
        const values = await withDeadline(Promise.all(read()), SCRAPE_DEADLINE_MS);
        this.set(values.length === 0 ? 0 : Math.max(...values));
      } catch (error) {
        logger.warn({ err: error }, `${name}: the bus did not answer; kept the last value`);
      }
    },
  });
}

/**
 * hub_bus_backlog: worker autoscaling (KEDA or the Prometheus adapter, deploy/k8s) reads it as
 * max(hub_bus_backlog).
 */
scrapedMax(
  'hub_bus_backlog',
  'Events accepted on the inbound bus and not yet handled (waiting, retrying or in flight)',
  () => [...buses].map((bus) => bus.pending()),
);

/** With hub_workers_alive, what says "nobody is answering": it grows while messages wait. */
scrapedMax(
  'hub_bus_oldest_message_age_seconds',
  'Seconds since the oldest event accepted on the inbound bus and not yet handled was accepted (0: none waits)',
  () => [...buses].map(async (bus) => (await bus.oldestPendingAgeMs()) / 1000),
);

/**
 * Per tenant, the same two: what admission control (bus.admission) compares with its limits, and
 * what a tenant's own alert or scaler reads. Tenants with nothing pending drop out of the series.
 * Every bus of the process is asked; a tenant's largest answer counts, as above.
 */
function scrapedPerTenant(name: string, help: string, read: (backlog: TenantBacklog) => number): void {
  new Gauge({
    name,
    help,
    labelNames: ['tenant'],
    registers: [registry],
    async collect() {
      try {
        const all = await withDeadline(
          Promise.all([...buses].map((bus) => bus.tenantBacklogs())),
          SCRAPE_DEADLINE_MS,
        );
        const values = new Map<string, number>();
        for (const backlogs of all) {
          for (const [tenant, backlog] of backlogs) {
            values.set(tenant, Math.max(values.get(tenant) ?? 0, read(backlog)));
          }
        }
        this.reset();
        for (const [tenant, value] of values) this.set({ tenant }, value);
      } catch (error) {
        logger.warn({ err: error }, `${name}: the bus did not answer; kept the last values`);
      }
    },
  });
}

scrapedPerTenant(
  'hub_bus_tenant_backlog',
  "A tenant's events accepted on the inbound bus and not yet handled",
  (backlog) => backlog.pending,
);

scrapedPerTenant(
  'hub_bus_tenant_oldest_age_seconds',
  "Seconds the oldest of a tenant's events not yet handled has waited since it was accepted",
  (backlog) => backlog.oldestAgeMs / 1000,
);

scrapedMax(
  'hub_workers_alive',
  'Worker processes whose heartbeat is fresh (bus.heartbeatMs × 3), counted across the whole hub',
  () => [...heartbeatSets].map((heartbeats) => heartbeats.alive()),
);

/** Report this bus's backlog and oldest message on /metrics until the returned function is called. */
export function reportBusBacklog(bus: EventBus): () => Promise<void> {
  buses.add(bus);
  return async () => {
    buses.delete(bus);
  };
}

/** Report the live workers these heartbeats see on /metrics until the returned function is called. */
export function reportWorkersAlive(heartbeats: WorkerHeartbeats): () => Promise<void> {
  heartbeatSets.add(heartbeats);
  return async () => {
    heartbeatSets.delete(heartbeats);
  };
}
