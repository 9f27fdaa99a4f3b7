import { Counter } from 'prom-client';
import { registry } from '../../core/metrics';

/** Session life of a linked WhatsApp Web account: qr, ready, disconnected, auth_failure, reconnect. */
export const whatsappWebSession = new Counter({
  name: 'hub_whatsapp_web_session_events_total',
  help: 'WhatsApp Web session events by channel and event',
  labelNames: ['channel', 'event'] as const,
  registers: [registry],
});
