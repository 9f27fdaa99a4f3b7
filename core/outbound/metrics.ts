import { Counter, Histogram } from 'prom-client';
import { registry } from '../metrics';

export const outboundCalls = new Counter({
  name: 'hub_outbound_calls_total',
  help: 'Outbound platform calls by channel and outcome (sent, duplicate, retried, rate_limited, failed)',
  labelNames: ['channel', 'outcome'] as const,
  registers: [registry],
});

export const outboundWait = new Histogram({
  name: 'hub_outbound_wait_seconds',
  help: 'Time an outbound call waited for its rate-limit slot or a platform Retry-After',
  labelNames: ['channel'] as const,
  buckets: [0, 0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60],
  registers: [registry],
});
