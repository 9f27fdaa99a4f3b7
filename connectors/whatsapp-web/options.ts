import { z } from 'zod';
import { DEFAULT_MAX_FILE_BYTES } from '../shared/download';

export const whatsappWebOptionsSchema = z.object({
  id: z.string(),
  tenant: z.string().default('default'),
  /** LocalAuth keeps the paired session here (one sub-folder per channel); back it up, keep it private. */
  sessionDir: z.string().min(1).default('.hub-data/whatsapp-web'),
  /** Chromium to drive; Debian's package by default (puppeteer's own download is skipped at install). */
  executablePath: z.string().min(1).default('/usr/bin/chromium'),
  headless: z.union([z.boolean(), z.stringbool()]).default(true),
  /** Replaced by the hub-wide admin rule (HUB_ADMIN_TOKEN); refused so an old config does not think it is guarded. */
  adminToken: z
    .never({ error: 'is no longer a channel option: GET /admin/channels/<id>/qr follows HUB_ADMIN_TOKEN' })
    .optional(),
  reconnect: z
    .object({
      minMs: z.coerce.number().int().positive().default(1_000),
      maxMs: z.coerce.number().int().positive().default(60_000),
    })
    .prefault({}),
  /** Cap for GET /admin/channels/<id>/files/<fileId> (the message id is the file id). */
  maxFileBytes: z.coerce.number().int().positive().default(DEFAULT_MAX_FILE_BYTES),
});

export type WhatsAppWebOptions = z.infer<typeof whatsappWebOptionsSchema>;

export const whatsappWebHints: Record<string, string> = {
  executablePath: 'install Chromium (`apt-get install chromium`) or point it at a Chrome binary',
  adminToken:
    'remove adminToken and export HUB_ADMIN_TOKEN (e.g. `openssl rand -hex 24`) for the hub; unset, the QR endpoint answers only localhost',
};
