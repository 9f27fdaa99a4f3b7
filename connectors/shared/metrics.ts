import { Counter } from 'prom-client';
import { registry } from '../../core/metrics';

/** Inbound updates a connector did not turn into an event, by reason (own echo, receipt, unknown kind). */
export const inboundIgnored = new Counter({
  name: 'hub_inbound_ignored_total',
  help: 'Inbound platform updates ignored, by channel and reason',
  labelNames: ['channel', 'reason'] as const,
  registers: [registry],
});
