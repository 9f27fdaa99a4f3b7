import { z } from 'zod';

const positiveInt = z.coerce.number().int().positive();

/** At most `max` hits per `windowSeconds` (a fixed window, as @fastify/rate-limit counts). */
const rule = (max: number, windowSeconds: number) =>
  z.object({ max: positiveInt.default(max), windowSeconds: positiveInt.default(windowSeconds) }).prefault({});

/**
 * `security.rateLimits`: numbers a single customer never reaches and an abuser does. Counted in
 * Redis when the hub runs on Redis (replicas share them), in the process when embedded.
 */
export const rateLimitsSchema = z
  .object({
    enabled: z.union([z.boolean(), z.stringbool()]).default(true),
    rest: z
      .object({
        /** REST messages from one client address (an integration's server sends for many customers). */
        perIp: rule(600, 60),
        /** REST messages from one `sender`: a person types a few a minute. */
        perSender: rule(30, 60),
      })
      .prefault({}),
    webchat: z
      .object({
        /** Web chat messages from one address, all its sessions together. */
        messagesPerIp: rule(120, 60),
        /** Web chat messages in one session (conversation). */
        messagesPerSession: rule(30, 60),
        /** WebSocket connections opened (and so sessions started) from one address. */
        connectsPerIp: rule(60, 60),
        /** Open sockets from one address at once, per hub process (tabs, reconnects, an office behind NAT). */
        maxSocketsPerIp: positiveInt.default(50),
      })
      .prefault({}),
    /** Verified platform updates (Telegram, Slack, Teams, WhatsApp) per tenant; over it they get 429 and are sent again. */
    webhooksPerTenant: rule(6000, 60),
    /**
     * Failed authentications (401: admin token, login, API key) from one address: past `max` in
     * `windowSeconds`, every attempt from it gets 429 and the wait doubles per further attempt, up to `maxBlockSeconds`.
     */
    authFailures: z
      .object({
        max: positiveInt.default(10),
        windowSeconds: positiveInt.default(300),
        maxBlockSeconds: positiveInt.default(3600),
      })
      .prefault({}),
    /** Model calls; over a budget the turn answers without the model (extractively). */
    llm: z
      .object({
        perConversation: rule(20, 60),
        perTenant: rule(1200, 60),
      })
      .prefault({}),
  })
  .prefault({});

export type RateLimitsConfig = z.infer<typeof rateLimitsSchema>;
export type RateRuleConfig = RateLimitsConfig['rest']['perIp'];
