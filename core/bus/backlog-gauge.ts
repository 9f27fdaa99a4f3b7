import { Gauge } from 'prom-client';
import { logger } from '../log';
import { registry } from '../metrics';
import { withDeadline } from '../resilience/deadline';
import type { EventBus } from '../types';

const buses = new Set<EventBus>();
const SCRAPE_DEADLINE_MS = 1_000;

/**
 * hub_bus_backlog: events accepted and not yet handled, read from the bus at scrape time. The queue
 * is shared by every process on it, so any API pod reports the whole backlog; worker autoscaling
 * (KEDA or the Prometheus adapter, deploy/k8s) reads it as max(hub_bus_backlog). Several buses in one
 * process (tests) report the largest, never a sum that would count one shared queue twice.
 */
new Gauge({
  name: 'hub_bus_backlog',
  help: 'Events accepted on the inbound bus and not yet handled (waiting, retrying or in flight)',
  registers: [registry],
  async collect() {
    try {
      // A paused Redis must not hold the whole scrape: /metrics answers, with the last value here.
      const counts = await withDeadline(
        Promise.all([...buses].map((bus) => bus.pending())),
        SCRAPE_DEADLINE_MS,
      );
      this.set(counts.length === 0 ? 0 : Math.max(...counts));
    } catch (error) {
      // Keep the last value rather than report 0: a scaler must not shrink the workers because Redis
      // hiccupped (hub_readiness_up{check="bus"} shows the outage).
      logger.warn({ err: error }, 'hub_bus_backlog: the bus did not answer; kept the last value');
    }
  },
});

/** Report this bus's backlog on /metrics until the returned function is called. */
export function reportBusBacklog(bus: EventBus): () => Promise<void> {
  buses.add(bus);
  return async () => {
    buses.delete(bus);
  };
}
