import { Counter } from 'prom-client';
import { registry } from '../metrics';

/** Every helpdesk update the hub received, by where it came from and what became of it. */
export const helpdeskUpdates = new Counter({
  name: 'hub_helpdesk_updates_total',
  help: 'Helpdesk → hub updates by source (zendesk, generic, demo) and outcome (accepted, duplicate, ignored, unknown_ticket, unauthorized, stale, bad_request, unavailable)',
  labelNames: ['source', 'outcome'] as const,
  registers: [registry],
});
