import { z } from 'zod';
import { DEFAULT_MAX_FILE_BYTES } from '../shared/download';
import { flag } from '../shared/options';
import { streamingOptionFields } from '../shared/streaming';

export const slackOptionsSchema = z
  .object({
    id: z.string(),
    tenant: z.string().default('default'),
    botToken: z
      .string({ error: 'is missing' })
      .regex(/^xox[bp]-[A-Za-z0-9-]+$/, 'is not a Slack bot token (expected "xoxb-…")'),
    /** Required over HTTP (Events API); Socket Mode connections are authenticated by the app token instead. */
    signingSecret: z
      .string()
      .regex(/^[A-Za-z0-9_]{16,}$/, 'is not a signing secret (Basic Information → App Credentials)')
      .optional(),
    /** Receive events over a WebSocket the hub opens (apps.connections.open) instead of HTTP requests. */
    socketMode: flag.default(false),
    /** App-level token (xapp-…) with the connections:write scope; Socket Mode only. */
    appToken: z
      .string()
      .regex(/^xapp-[A-Za-z0-9-]+$/, 'is not an app-level token (expected "xapp-…")')
      .optional(),
    /** Web API base URL; a local emulator in tests. */
    apiUrl: z
      .url({ error: 'must be a URL such as https://slack.com/api/' })
      .default('https://slack.com/api/'),
    /** The bot's user id (U…) and bot id (B…); asked from auth.test at start when left out. */
    botUserId: z
      .string()
      .regex(/^[UW][A-Z0-9]+$/)
      .optional(),
    botId: z
      .string()
      .regex(/^B[A-Z0-9]+$/)
      .optional(),
    /** Largest file the admin files route downloads for this workspace. */
    maxFileBytes: z.coerce.number().int().positive().default(DEFAULT_MAX_FILE_BYTES),
    ...streamingOptionFields,
  })
  .refine((o) => o.socketMode || o.signingSecret !== undefined, {
    message: 'is missing (required unless socketMode: true)',
    path: ['signingSecret'],
  })
  .refine((o) => !o.socketMode || o.appToken !== undefined, {
    message: 'is required with socketMode: true',
    path: ['appToken'],
  });

export type SlackOptions = z.infer<typeof slackOptionsSchema>;

export const slackHints: Record<string, string> = {
  botToken: 'set botToken: ${SLACK_BOT_TOKEN} and export the Bot User OAuth Token (OAuth & Permissions)',
  signingSecret: "set signingSecret: ${SLACK_SIGNING_SECRET} and export the app's Signing Secret",
  appToken:
    'set appToken: ${SLACK_APP_TOKEN} and export an app-level token with connections:write (Basic Information → App-Level Tokens)',
  apiUrl: 'leave it out for the real Slack API',
};
