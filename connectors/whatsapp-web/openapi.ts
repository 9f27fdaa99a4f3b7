import { z } from 'zod';
import type { RouteDoc } from '../../core/http/route-doc';

/** `GET /admin/channels/<id>/qr`: the pairing code and session state. */
export const whatsappWebQrDoc: RouteDoc = {
  summary: 'WhatsApp Web session state and, while pairing, the QR code to scan',
  description: 'Whoever scans the code links their WhatsApp account to the hub, hence the admin rule.',
  tags: ['admin'],
  admin: true,
  responses: {
    200: {
      description: 'The session',
      schema: z.object({
        channel: z.string(),
        state: z.enum(['starting', 'qr', 'authenticated', 'ready', 'disconnected', 'auth_failure', 'closed']),
        qr: z.string().optional().describe('The pairing code while state is qr'),
        since: z.string().describe('ISO 8601 time of the last state change'),
        problem: z.string().optional(),
      }),
    },
  },
};
