import { Counter } from 'prom-client';
import { registry } from '../../core/metrics';

/** Delivery receipts for what the hub sent (sent, delivered, read, failed). */
export const whatsappStatuses = new Counter({
  name: 'hub_whatsapp_statuses_total',
  help: 'WhatsApp delivery receipts by channel and status',
  labelNames: ['channel', 'status'] as const,
  registers: [registry],
});

/** Replies due outside the 24-hour customer-service window, and what became of them. */
export const whatsappOutsideWindow = new Counter({
  name: 'hub_whatsapp_outside_window_total',
  help: 'Replies due after the 24-hour window closed: template_sent, already_sent, no_template',
  labelNames: ['channel', 'outcome'] as const,
  registers: [registry],
});
