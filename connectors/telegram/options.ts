import { z } from 'zod';
import { DEFAULT_MAX_FILE_BYTES } from '../shared/download';
import { streamingOptionFields } from '../shared/streaming';

export const telegramOptionsSchema = z
  .object({
    id: z.string(),
    tenant: z.string().default('default'),
    botToken: z
      .string({ error: 'is missing' })
      .regex(/^\d+:[A-Za-z0-9_-]{10,}$/, 'is not a bot token (expected "<digits>:<secret>" from @BotFather)'),
    /** webhook: Telegram POSTs to /webhooks/<id>; polling: the hub calls getUpdates (one poller per bot). */
    mode: z.enum(['webhook', 'polling']).default('webhook'),
    secretToken: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,256}$/, 'must be 1-256 characters of A-Z, a-z, 0-9, _ and -')
      .optional(),
    apiRoot: z
      .url({ error: 'must be a URL such as https://api.telegram.org' })
      .default('https://api.telegram.org'),
    /** The bot's @username; fetched with getMe at start when left out. */
    botUsername: z
      .string()
      .regex(/^@?\w{3,64}$/)
      .optional(),
    /** Public HTTPS URL of /webhooks/<id>; when set, the hub registers it with setWebhook at start. */
    webhookUrl: z.url().optional(),
    pollingTimeoutSeconds: z.coerce.number().int().min(0).max(50).default(25),
    /** Largest file the admin files route fetches (getFile itself stops at 20 MB on the public Bot API). */
    maxFileBytes: z.coerce.number().int().positive().default(DEFAULT_MAX_FILE_BYTES),
    ...streamingOptionFields,
  })
  .refine((o) => o.mode !== 'webhook' || o.secretToken !== undefined, {
    message: 'is required in webhook mode: without it anyone who learns the URL can post updates',
    path: ['secretToken'],
  });

export type TelegramOptions = z.infer<typeof telegramOptionsSchema>;

export const telegramHints: Record<string, string> = {
  botToken: 'set botToken: ${TELEGRAM_BOT_TOKEN} and export the token @BotFather gave you',
  secretToken:
    'set secretToken: ${TELEGRAM_SECRET_TOKEN} and export a random string, e.g. `openssl rand -hex 32`',
  apiRoot: 'leave it out for the real Bot API, or point it at a local Bot API server',
};
