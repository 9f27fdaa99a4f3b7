import { z } from 'zod';

export const slackOptionsSchema = z.object({
  id: z.string(),
  tenant: z.string().default('default'),
  botToken: z
    .string({ error: 'is missing' })
    .regex(/^xox[bp]-[A-Za-z0-9-]+$/, 'is not a Slack bot token (expected "xoxb-…")'),
  signingSecret: z
    .string({ error: 'is missing' })
    .regex(/^[A-Za-z0-9_]{16,}$/, 'is not a signing secret (Basic Information → App Credentials)'),
  /** Web API base URL; a local emulator in tests. */
  apiUrl: z.url({ error: 'must be a URL such as https://slack.com/api/' }).default('https://slack.com/api/'),
  /** The bot's user id (U…) and bot id (B…); asked from auth.test at start when left out. */
  botUserId: z
    .string()
    .regex(/^[UW][A-Z0-9]+$/)
    .optional(),
  botId: z
    .string()
    .regex(/^B[A-Z0-9]+$/)
    .optional(),
});

export type SlackOptions = z.infer<typeof slackOptionsSchema>;

export const slackHints: Record<string, string> = {
  botToken: 'set botToken: ${SLACK_BOT_TOKEN} and export the Bot User OAuth Token (OAuth & Permissions)',
  signingSecret: "set signingSecret: ${SLACK_SIGNING_SECRET} and export the app's Signing Secret",
  apiUrl: 'leave it out for the real Slack API',
};
