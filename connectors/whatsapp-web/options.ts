import { z } from 'zod';

export const whatsappWebOptionsSchema = z.object({
  id: z.string(),
  tenant: z.string().default('default'),
  /** LocalAuth keeps the paired session here (one sub-folder per channel); back it up, keep it private. */
  sessionDir: z.string().min(1).default('.hub-data/whatsapp-web'),
  /** Chromium to drive; Debian's package by default (puppeteer's own download is skipped at install). */
  executablePath: z.string().min(1).default('/usr/bin/chromium'),
  headless: z.union([z.boolean(), z.stringbool()]).default(true),
  /**
   * Bearer token for `GET /admin/channels/<id>/qr`. Without it the endpoint answers only requests
   * from this machine (127.0.0.1, ::1): whoever scans the QR code links their WhatsApp to the hub.
   */
  adminToken: z.string().min(16, 'must be at least 16 characters').optional(),
  reconnect: z
    .object({
      minMs: z.coerce.number().int().positive().default(1_000),
      maxMs: z.coerce.number().int().positive().default(60_000),
    })
    .prefault({}),
});

export type WhatsAppWebOptions = z.infer<typeof whatsappWebOptionsSchema>;

export const whatsappWebHints: Record<string, string> = {
  executablePath: 'install Chromium (`apt-get install chromium`) or point it at a Chrome binary',
  adminToken: 'set adminToken: ${WA_WEB_ADMIN_TOKEN} and export a random string, e.g. `openssl rand -hex 24`',
};
