import { Counter } from 'prom-client';
import { registry } from '../../core/metrics';

/** Every webhook request, by channel and what became of it. */
export const webhookRequests = new Counter({
  name: 'hub_webhook_requests_total',
  help: 'Webhook requests by channel and outcome (accepted, duplicate, ignored, unauthorized, bad_request)',
  labelNames: ['channel', 'outcome'] as const,
  registers: [registry],
});

/** Inbound updates a connector did not turn into an event, by reason (own echo, receipt, unknown kind). */
export const inboundIgnored = new Counter({
  name: 'hub_inbound_ignored_total',
  help: 'Inbound platform updates ignored, by channel and reason',
  labelNames: ['channel', 'reason'] as const,
  registers: [registry],
});
