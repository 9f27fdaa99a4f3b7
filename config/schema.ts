import { z } from 'zod';

const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();
/** Booleans may come from `${ENV}` interpolation as strings ("true", "0", "yes"). */
const flag = z.union([z.boolean(), z.stringbool()]);

export const channelSchema = z
  .object({
    id: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]*$/, 'use lower-case letters, digits and dashes, e.g. "telegram-support"'),
    type: z.string().min(1),
    enabled: flag.default(true),
    tenant: z.string().default('default'),
  })
  .loose();

export const hubConfigSchema = z.object({
  server: z
    .object({
      host: z.string().default('127.0.0.1'),
      port: port.default(3000),
      /** Largest request body accepted by any endpoint. */
      bodyLimitBytes: positiveInt.default(1_048_576),
      /** How long the REST channel waits for the bot's reply before answering 202. */
      replyTimeoutMs: positiveInt.default(20_000),
      /** Run the dialog workers in this process ("all"), or only the HTTP side ("api") or only workers ("worker"). */
      role: z.enum(['all', 'api', 'worker']).default('all'),
    })
    .prefault({}),
  redis: z
    .object({
      url: z.string().default('redis://127.0.0.1:6379'),
      /** Every key the hub writes starts with this: two hubs can share one Redis. */
      keyPrefix: z
        .string()
        .regex(/^[\w.-]+$/, 'use letters, digits, ".", "_" or "-"')
        .default('hub'),
    })
    .prefault({}),
  bus: z
    .object({
      driver: z.enum(['memory', 'bullmq']).default('memory'),
      queue: z.string().default('hub-inbound'),
      dedupeWindowHours: z.coerce.number().positive().default(24),
      maxAttempts: positiveInt.default(5),
      backoffMs: positiveInt.default(500),
      concurrency: positiveInt.default(16),
      lockTtlMs: positiveInt.default(30_000),
    })
    .prefault({}),
  state: z
    .object({
      driver: z.enum(['memory', 'redis']).default('memory'),
      ttlHours: z.coerce.number().positive().default(72),
      historyTurns: positiveInt.default(20),
    })
    .prefault({}),
  database: z
    .object({
      driver: z.enum(['pglite', 'postgres']).default('pglite'),
      /** PostgreSQL connection string (driver postgres). */
      url: z.string().optional(),
      /** PGlite data directory; "memory://" keeps nothing on disk. */
      dataDir: z.string().default('.hub-data/db'),
    })
    .prefault({})
    .refine((db) => db.driver !== 'postgres' || Boolean(db.url), {
      message: 'database.driver is "postgres" but database.url is empty; set it, e.g. url: ${DATABASE_URL}',
      path: ['url'],
    }),
  llm: z
    .object({
      enabled: flag.default(false),
      baseUrl: z.string().default('http://127.0.0.1:8000/v1'),
      model: z.string().default('Qwen/Qwen3-14B'),
      apiKey: z.string().default('EMPTY'),
      timeoutMs: positiveInt.default(30_000),
      maxRetries: z.coerce.number().int().min(0).default(2),
      maxTokens: positiveInt.default(512),
      temperature: z.coerce.number().min(0).max(2).default(0.3),
      /** Qwen3 thinking mode; off keeps latency low for customer service. */
      enableThinking: flag.default(false),
      breaker: z
        .object({
          failureThreshold: positiveInt.default(5),
          resetMs: positiveInt.default(30_000),
        })
        .prefault({}),
    })
    .prefault({}),
  knowledge: z
    .object({
      dir: z.string().default('knowledge'),
      topK: positiveInt.default(4),
      /** Tokens (Qwen3) the prompt may use for system text, history and passages together. */
      promptBudgetTokens: positiveInt.default(6000),
    })
    .prefault({}),
  channels: z.array(channelSchema).default([
    { id: 'rest', type: 'rest', enabled: true, tenant: 'default' },
    { id: 'webchat', type: 'webchat', enabled: true, tenant: 'default' },
  ]),
});

export type HubConfig = z.infer<typeof hubConfigSchema>;
export type ChannelConfig = z.infer<typeof channelSchema>;
