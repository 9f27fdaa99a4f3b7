import { z } from 'zod';
import { privacySectionSchema } from '../privacy/schema';
import { breakerFields, erpSectionSchema, ticketingSectionSchema } from './adapters-schema';
import { analyticsSectionSchema } from './analytics-schema';
import { proofSectionSchema } from './proof-schema';
import { retentionSectionSchema } from './retention-schema';
import { safetySectionSchema } from './safety-schema';
import { securitySectionSchema } from './security-schema';
import { telemetrySectionSchema } from './telemetry-schema';

const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();
/** Booleans may come from `${ENV}` interpolation as strings ("true", "0", "yes"). */
const flag = z.union([z.boolean(), z.stringbool()]);

/** Each value is a path to a PEM file, or the PEM itself (e.g. `certFile: ${HUB_TLS_CERT}`). */
const serverTlsSchema = z.object({
  certFile: z.string().min(1),
  keyFile: z.string().min(1),
  /** Intermediate CA certificates sent with certFile, when its file does not hold the chain. */
  caFile: z.string().min(1).optional(),
});

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

/** One model endpoint of `llm.models`; baseUrl and apiKey default to llm.baseUrl and llm.apiKey. */
const llmModelSchema = z.object({
  name: z.string().regex(/^[\w.-]+$/, 'use letters, digits, ".", "_" or "-", e.g. "main" or "qwen3-0.6b"'),
  baseUrl: z.string().optional(),
  model: z.string().min(1),
  apiKey: z.string().optional(),
  role: z.enum(['light', 'main']),
  /** Requests this endpoint serves at once (vLLM --max-num-seqs); more wait in the hub. Default: llm.maxConcurrency. */
  maxConcurrency: positiveInt.optional(),
  /** The release this entry serves, the `version` label of the per-version metrics (default: `model`). */
  version: z.string().min(1).optional(),
  /**
   * This entry is the canary of the entry named `of`: a sticky `share` of conversations (by a hash
   * of the conversation key) goes here instead, until the rollback rule (llm.rollback) stops it.
   */
  canary: z
    .object({
      of: z.string().min(1),
      share: z.coerce.number().min(0).max(1),
    })
    .optional(),
});

/** When a canary is rolled back: its error or fallback rate over the window above a threshold. */
export const llmRollbackSchema = z.object({
  /** The sliding window the rates are counted over. */
  windowMs: positiveInt.default(300_000),
  /** Fewer requests than this in the window judge nothing: one early failure is no trend. */
  minRequests: positiveInt.default(20),
  /** Share of the canary's requests that failed (any error); above it the canary is rolled back. */
  maxErrorRate: z.coerce.number().min(0).max(1).default(0.1),
  /** Share of the canary's requests that another endpoint had to answer; above it the canary is rolled back. */
  maxFallbackRate: z.coerce.number().min(0).max(1).default(0.1),
});

export const llmRoutingSchema = z.object({
  /** A question of at most this many characters goes to the light model; 0 turns the rule off. */
  lightMaxChars: z.coerce.number().int().min(0).default(0),
  /** Intents the light model answers well enough (with confidence ≥ minIntentConfidence). */
  lightIntents: z.array(z.string().min(1)).default([]),
  minIntentConfidence: z.coerce.number().min(0).max(1).default(0.8),
  /** Tenant → its LoRA adapter's served model name (vLLM --lora-modules name=path), used on main endpoints. */
  tenants: z.record(z.string(), z.object({ lora: z.string().min(1) })).default({}),
});

type ModelEntryInput = z.output<typeof llmModelSchema>;

function checkLlmModels(
  llm: { models?: ModelEntryInput[]; fallback?: string[] },
  ctx: z.RefinementCtx,
): void {
  const names = (llm.models ?? []).map((m) => m.name);
  if (!llm.models) {
    if (llm.fallback?.length) {
      ctx.addIssue({
        code: 'custom',
        path: ['fallback'],
        message:
          'llm.fallback names models, but llm.models is not set; add llm.models or remove llm.fallback',
      });
    }
    return;
  }
  names.forEach((name, index) => {
    if (names.indexOf(name) !== index) {
      ctx.addIssue({
        code: 'custom',
        path: ['models', index, 'name'],
        message: `model name "${name}" is used twice; give each entry of llm.models its own name`,
      });
    }
  });
  if (!llm.models.some((m) => m.role === 'main')) {
    ctx.addIssue({
      code: 'custom',
      path: ['models'],
      message: 'llm.models has no entry with role: main; mark the model that answers customers role: main',
    });
  }
  (llm.fallback ?? []).forEach((name, index) => {
    if (!names.includes(name)) {
      ctx.addIssue({
        code: 'custom',
        path: ['fallback', index],
        message: `llm.fallback names "${name}", which is not in llm.models (${names.join(', ')}); use one of those names`,
      });
    } else if (llm.models?.find((m) => m.name === name)?.canary) {
      ctx.addIssue({
        code: 'custom',
        path: ['fallback', index],
        message: `llm.fallback names "${name}", a canary: a canary serves only its share of conversations; list its stable model instead`,
      });
    }
  });
  checkCanaries(llm.models, ctx);
}

function checkCanaries(models: ModelEntryInput[], ctx: z.RefinementCtx): void {
  const versionOf = (entry: ModelEntryInput) => entry.version ?? entry.model;
  const canaryOf = new Map<string, string>();
  models.forEach((entry, index) => {
    const canary = entry.canary;
    if (!canary) return;
    const path = ['models', index, 'canary', 'of'];
    const stable = models.find((m) => m.name === canary.of);
    const problem = !stable
      ? `"${canary.of}" is not in llm.models; name the stable entry this one is the canary of`
      : stable.canary
        ? `"${canary.of}" is itself a canary; name the stable entry`
        : stable.role !== entry.role
          ? `"${canary.of}" has role ${stable.role} but this canary has role ${entry.role}; give them the same role`
          : versionOf(stable) === versionOf(entry)
            ? `the canary and "${canary.of}" both serve version "${versionOf(entry)}"; give the canary its own version: so their metrics differ`
            : canaryOf.has(canary.of)
              ? `"${canary.of}" already has the canary "${canaryOf.get(canary.of)}"; run one canary per model at a time`
              : undefined;
    if (problem)
      ctx.addIssue({ code: 'custom', path, message: `llm.models[${index}].canary.of: ${problem}` });
    else canaryOf.set(canary.of, entry.name);
  });
}

/** A tenant's limits: past either, REST is refused (503) and chat channels are told they wait. */
const admissionLimits = z.object({
  /** The tenant's messages accepted and not yet handled; unset: no limit. */
  maxBacklog: positiveInt.optional(),
  /** How long the tenant's oldest message not yet handled may have waited; unset: no limit. */
  maxQueueAgeMs: positiveInt.optional(),
});

const admissionSchema = admissionLimits
  .extend({
    /** Limits of single tenants, instead of the ones above. */
    tenants: z.record(z.string(), admissionLimits).default({}),
    /** Retry-After of a refused REST message. */
    retryAfterSeconds: positiveInt.default(5),
    /** A push-channel message gets a typing indicator when its tenant's oldest message has waited this long; 0: never. */
    typingAfterMs: z.coerce.number().int().min(0).default(2_000),
    /** The indicator is sent again this often while the message waits (at most 12 times); 0: once. */
    typingRefreshMs: z.coerce.number().int().min(0).default(5_000),
  })
  .prefault({});

export const hubConfigSchema = z.object({
  server: z
    .object({
      host: z.string().default('127.0.0.1'),
      port: port.default(3000),
      /** Largest request body accepted by any endpoint. */
      bodyLimitBytes: positiveInt.default(1_048_576),
      /** Deepest nesting of arrays and objects a JSON body (REST, web chat frame, webhook) may have; deeper: 400. */
      maxJsonDepth: positiveInt.max(1000).default(64),
      /** How long the REST channel waits for the bot's reply before answering 202. */
      replyTimeoutMs: positiveInt.default(20_000),
      /** How long each readiness check (database, bus, channels) may take before /readyz reports it down. */
      readinessTimeoutMs: positiveInt.default(1_000),
      /** Run the dialog workers in this process ("all"), or only the HTTP side ("api") or only workers ("worker"). */
      role: z.enum(['all', 'api', 'worker']).default('all'),
      /** A worker-only process serves /healthz, /readyz and /metrics here; unset: none. HUB_WORKER_PORT wins. */
      workerPort: port.optional(),
      /** Serve HTTPS (TLS 1.3 minimum) on `port`, and on the worker port; unset: plain HTTP behind a proxy. */
      tls: serverTlsSchema.optional(),
      /**
       * Addresses of the reverse proxies in front (comma-separated IPs or CIDRs): their
       * X-Forwarded-For names the client, so per-address rate limits see customers, not the proxy.
       */
      trustProxy: z.string().min(1).optional(),
    })
    .prefault({}),
  audit: z
    .object({
      /** Where the chain's HMAC key is generated and kept when HUB_AUDIT_KEY is unset (one host only). */
      keyFile: z.string().default('.hub-data/audit.key'),
      /** `hub audit purge` deletes records older than this many days; unset: records are kept forever. */
      retentionDays: positiveInt.optional(),
      /** A per-turn record for every handled event (intent, decision, passages, model, outcome). */
      turns: z.boolean().default(true),
    })
    .prefault({}),
  /** Results derived at start-up (knowledge chunks and thresholds, intent thresholds), kept by a hash of their inputs (core/cache). */
  cache: z
    .object({
      enabled: flag.default(true),
      dir: z.string().default('.hub-data/cache'),
    })
    .prefault({}),
  /** How long transcripts and raw payloads are kept, per tenant, and the scheduled purge (core/store/retention.ts). */
  retention: retentionSectionSchema,
  redis: z
    .object({
      url: z.string().default('redis://127.0.0.1:6379'),
      /** Every key the hub writes starts with this: two hubs can share one Redis. */
      keyPrefix: z
        .string()
        .regex(/^[\w.-]+$/, 'use letters, digits, ".", "_" or "-"')
        .default('hub'),
      /**
       * Redis Cluster instead of the one server of redis.url: the seed nodes (`host:port` or
       * `redis://[:password@]host:port`, `rediss://` for TLS with redis.tls; the first node's
       * credentials are used for all). Every key of a conversation shares one hash slot.
       */
      cluster: z
        .object({
          nodes: z.array(z.string().min(1)).min(1, 'list at least one node, e.g. ["10.0.0.1:6379"]'),
          /**
           * The bus's indexes (backlog counts, dead letters, the ready set) are split into this many
           * shards, each in its own hash slot, so a conversation's script touches one slot; the gauges
           * and the dead-letter listing read every shard. More shards spread the load over more masters.
           */
          shards: positiveInt.max(1024).default(16),
        })
        .optional(),
      /** Used when redis.url (or the cluster's nodes) is rediss:// (TLS). */
      tls: z
        .object({
          /** The CA that signed Redis's certificate (a path, or the PEM itself); unset: the system's CAs. */
          caFile: z.string().min(1).optional(),
          /** false accepts any certificate: encrypted but open to a man in the middle. */
          rejectUnauthorized: flag.default(true),
        })
        .prefault({}),
    })
    .prefault({}),
  bus: z
    .object({
      driver: z.enum(['memory', 'bullmq']).default('memory'),
      queue: z.string().default('hub-inbound'),
      dedupeWindowHours: z.coerce.number().positive().default(24),
      maxAttempts: positiveInt.default(5),
      backoffMs: positiveInt.default(500),
      /**
       * Turns one process runs at once. A turn mostly waits (on the model, an ERP, a helpdesk), so
       * this is sized for waiting turns: the limits that matter are `llm.maxConcurrency` (the model
       * server's batch) and the database pool, which queue the excess cheaply.
       */
      concurrency: positiveInt.default(200),
      /**
       * Lease on a conversation while a worker handles it, renewed every lockRenewMs as long as the
       * turn runs (a long model call keeps it). A worker that dies (kill -9) holds its conversations
       * at most this long; then another worker takes them over. Also BullMQ's job lock.
       */
      lockTtlMs: positiveInt.default(3_000),
      /**
       * How often a running turn renews its lease; unset: a third of lockTtlMs. A worker stalled
       * longer than lockTtlMs − lockRenewMs loses the lease: its turn is aborted and fencing refuses
       * its state writes, while the next holder handles the event again.
       */
      lockRenewMs: positiveInt.optional(),
      /** How often each worker looks for BullMQ jobs whose worker died (lock lapsed) and hands them out again. */
      stalledIntervalMs: positiveInt.default(1_000),
      /** Each worker process beats this often; `hub_workers_alive` counts beats younger than three of these. */
      heartbeatMs: positiveInt.default(5_000),
      /** Admission control per tenant (core/channels/admission.ts); README "Overload". */
      admission: admissionSchema,
    })
    .prefault({})
    .refine((bus) => bus.lockRenewMs === undefined || bus.lockRenewMs < bus.lockTtlMs, {
      message: 'bus.lockRenewMs must be shorter than bus.lockTtlMs, or a running turn loses its lease',
      path: ['lockRenewMs'],
    }),
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
      /**
       * Connections each process's PostgreSQL pool may open. Unset: min(bus.concurrency, 20) + 10 (one
       * per concurrent turn up to 20 — a turn holds one only for milliseconds — plus the HTTP side); 10
       * in an api-only process. Keep the sum over all processes below the server's max_connections
       * (or put PgBouncer in front).
       */
      poolSize: positiveInt.optional(),
      /** How long a query waits for a free pool connection (or a new one to open) before it fails as an outage. */
      poolTimeoutMs: positiveInt.default(5_000),
      /** PGlite data directory; "memory://" keeps nothing on disk. */
      dataDir: z.string().default('.hub-data/db'),
      /** Used when database.url has sslmode=require, verify-ca or verify-full. */
      tls: z
        .object({
          /** The CA that signed PostgreSQL's certificate (a path, or the PEM itself); unset: the system's CAs. */
          caFile: z.string().min(1).optional(),
        })
        .optional(),
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
      /**
       * Requests each model endpoint gets at once, per hub process: set it to the server's batch size
       * (vLLM --max-num-seqs) divided by the worker processes; the turns beyond it wait their turn
       * in the hub instead of timing out in the server's queue. Unset: no limit.
       */
      maxConcurrency: positiveInt.optional(),
      temperature: z.coerce.number().min(0).max(2).default(0.3),
      /** Qwen3 thinking mode; off keeps latency low for customer service. */
      enableThinking: flag.default(false),
      /** As erp.breaker, plus the half-open trial: a one-token completion, GET /v1/models, or a customer's request. */
      breaker: breakerFields
        .extend({ probe: z.enum(['chat', 'models', 'off']).default('chat') })
        .prefault({}),
      /** Several model endpoints chosen per request (core/llm/router.ts); unset: the single baseUrl/model above. */
      models: z.array(llmModelSchema).min(1).optional(),
      /** Which of `models` a request goes to; used only with `models`. */
      routing: llmRoutingSchema.optional(),
      /** Model names tried, in this order, when the chosen one fails or its circuit is open (default: models' order). */
      fallback: z.array(z.string().min(1)).optional(),
      /** Automatic rollback of a canary entry (llm.models[].canary); unset: the defaults. */
      rollback: llmRollbackSchema.optional(),
    })
    .prefault({})
    .superRefine(checkLlmModels),
  /** Replies pushed to platforms (Telegram, Slack, ...): rate limits, retries, idempotency. */
  outbound: z
    .object({
      /** Where rate-limit windows and idempotency records live; auto = Redis when the bus or state is on Redis. */
      driver: z.enum(['auto', 'memory', 'redis']).default('auto'),
      maxAttempts: positiveInt.default(5),
      backoffMs: positiveInt.default(500),
      maxBackoffMs: positiveInt.default(10_000),
      /** Longest wait in line (rate limit, Retry-After) before the turn goes back to the bus. */
      maxWaitMs: positiveInt.default(30_000),
      idempotencyHours: z.coerce.number().positive().default(72),
    })
    .prefault({}),
  knowledge: z
    .object({
      dir: z.string().default('knowledge'),
      topK: positiveInt.default(4),
      /** Tokens (Qwen3) the prompt may use for system text, history and passages together. */
      promptBudgetTokens: positiveInt.default(6000),
      /**
       * Where the passages are searched: a name in core/rag/retrievers (embedded: in-process Orama;
       * elasticsearch). Its block, e.g. `knowledge.elasticsearch`, is validated by its descriptor.
       */
      retriever: z.string().min(1).default('embedded'),
      /** What `hub kb ingest` keeps (manifest and chunks); the embedded retriever serves it with `dir`. */
      storeDir: z.string().default('.hub-data/knowledge'),
      /**
       * Best-passage score below which the bot says it does not know and offers a human. Unset: the
       * measured default of the retriever in use (see core/rag/answer.ts); with a reranker, its score.
       */
      minScore: z.coerce.number().min(0).optional(),
      /**
       * Words customers use for what the knowledge base says otherwise: a question naming one member
       * of a group is searched with the others added (core/rag/synonyms.ts). A group is a list, or
       * `{ words, tenant }` for one tenant only.
       */
      synonyms: z
        .array(
          z.union([
            z.array(z.string().min(1)).min(2),
            z.object({ words: z.array(z.string().min(1)).min(2), tenant: z.string().min(1).optional() }),
          ]),
        )
        .default([]),
      /**
       * The answer/refuse threshold, chosen at every (re)index unless `minScore` is set
       * (core/rag/calibration.ts): from the labelled set's `set` rows when there is one, else from
       * the entries' `Also asked:` questions searched against an index without them.
       */
      calibration: z
        .object({
          enabled: flag.default(true),
          /** Labelled JSONL (hub kb eval format); default `<knowledge.dir>/eval/labelled.jsonl` when present. */
          labelled: z.string().optional(),
          /** Rows of the labelled file used to calibrate (the rest stay held out). */
          set: z.string().default('tuning'),
          /** Wanted share of right answers among the answered ones. */
          precision: z.coerce.number().min(0).max(1).default(0.9),
          /** What the threshold applies to: the best score, its margin over the second, or that margin relative. */
          measure: z.enum(['score', 'margin', 'ratio']).default('score'),
        })
        .prefault({}),
      /** OpenAI-compatible /v1/embeddings server; unset: the offline hashed embedder (see README). */
      embeddings: z
        .object({
          baseUrl: z.string(),
          model: z.string().default('BAAI/bge-m3'),
          dimensions: positiveInt.default(1024),
          apiKey: z.string().default('EMPTY'),
          /** Send `dimensions` in the request: only for Matryoshka models (Qwen3-Embedding, text-embedding-3). */
          matryoshka: flag.default(false),
          batchSize: positiveInt.default(64),
          timeoutMs: positiveInt.default(30_000),
          maxRetries: z.coerce.number().int().min(0).default(3),
        })
        .optional(),
      /**
       * An ONNX sentence-embedding model on disk, run in-process (onnxruntime-node, CPU); `hub models
       * pull` fetches a known one. Exclusive with `embeddings`. Unset: no model is loaded.
       */
      embedder: z
        .object({
          /** Folder with tokenizer.json, config.json and onnx/model.onnx (or model.onnx); relative to the working directory. */
          modelDir: z.string().min(1),
          /** The .onnx file inside modelDir; default onnx/model.onnx, else model.onnx. */
          modelFile: z.string().min(1).optional(),
          /** How token vectors become one: `mean` over real tokens (e5, MiniLM) or the first token's (`cls`: bge). */
          pooling: z.enum(['mean', 'cls']).default('mean'),
          /** L2-normalise the pooled vector (the retriever compares by cosine). */
          normalize: flag.default(true),
          /** Put before each question (e5: "query: "; bge for short questions: "为这个句子生成表示以用于检索相关文章："). */
          queryPrefix: z.string().default(''),
          /** Put before each knowledge passage (e5: "passage: "). */
          passagePrefix: z.string().default(''),
          /** Tokens per text, special tokens included; longer texts are cut. */
          maxLength: positiveInt.default(512),
          /** Texts per model run. */
          batchSize: positiveInt.default(32),
          /** CPU threads of one model run; unset: onnxruntime's default (all cores). */
          threads: positiveInt.optional(),
        })
        .optional(),
      /** Optional cross-encoder rerank endpoint (TEI `/rerank` or Jina/Cohere-style `/v1/rerank`). */
      rerank: z
        .object({
          baseUrl: z.string(),
          model: z.string().default('BAAI/bge-reranker-v2-m3'),
          apiKey: z.string().default('EMPTY'),
          style: z.enum(['tei', 'openai']).default('tei'),
          /** Passages fetched before reranking down to topK. */
          candidates: positiveInt.default(20),
          timeoutMs: positiveInt.default(10_000),
        })
        .optional(),
    })
    .loose()
    .refine((knowledge) => !(knowledge.embeddings && knowledge.embedder), {
      message:
        'set either knowledge.embeddings (an embeddings server) or knowledge.embedder (a model on disk), not both',
      path: ['embedder'],
    })
    .prefault({}),
  /** Intents, flows and handoff rules (core/dialog/DIALOG.md). */
  dialog: z
    .object({
      /** Intents, entity patterns, policy limits and the flows folder (schema: core/dialog/config.ts). */
      file: z.string().default('config/dialog.yaml'),
      /**
       * Intent examples learned from reviewed turns (core/dialog/intent/learned.ts): written by the
       * hub when a label is approved, trained on beside the dialog file's examples.
       */
      examplesFile: z.string().default('config/intent-examples.yaml'),
      /** The customers' time zone, minutes east of UTC: relative dates ("明天") and opening hours. */
      timezoneOffsetMinutes: z.coerce.number().int().min(-720).max(840).default(480),
      /** Ask the LLM (tier c) when rules and classifier are unsure; only when `llm.enabled`. */
      llmIntents: flag.default(true),
      /**
       * `speculative`: while the LLM tier classifies, retrieval and the answer start beside it; the
       * answer is used when the intent leads to one (FAQ, unknown), else called off: one model call
       * on the customer's wait instead of two (not with `llm.routing.lightIntents`, where the answer's
       * model depends on the intent). `sequential`: classify, then act on the intent.
       */
      llmIntentTier: z.enum(['speculative', 'sequential']).default('speculative'),
      /** When people answer handed-off conversations; unset: always. Outside them the customer is told. */
      hours: z
        .object({
          /** 0 = Sunday ... 6 = Saturday. */
          days: z.array(z.number().int().min(0).max(6)).default([1, 2, 3, 4, 5]),
          open: z
            .string()
            .regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'use HH:MM, e.g. "09:00"')
            .default('09:00'),
          close: z
            .string()
            .regex(/^([01]\d|2[0-4]):[0-5]\d$/, 'use HH:MM, e.g. "18:00"')
            .default('18:00'),
        })
        .optional(),
      /** A conversation a person took over returns to the bot when no agent wrote for this long. */
      returnToBotAfterMinutes: positiveInt.default(120),
    })
    .prefault({}),
  /** Access control (README "Rate limits"). */
  erp: erpSectionSchema,
  /** Ownership proof: phone regions, one-time codes and their e-mail (core/config/proof-schema.ts). */
  proof: proofSectionSchema,
  ticketing: ticketingSectionSchema,
  /** Personal data masked before the model, in tickets and for analysts (core/privacy, README "Privacy"). */
  privacy: privacySectionSchema,
  telemetry: telemetrySectionSchema,
  /** Operators, roles, sessions, single sign-on and machine tokens (core/security). */
  security: securitySectionSchema,
  /** Sensitive words, prompt injection, groundedness and risk disclaimers (core/safety). */
  safety: safetySectionSchema,
  /** Business metrics and the satisfaction survey (core/analytics, README "Business metrics"). */
  analytics: analyticsSectionSchema,
  channels: z.array(channelSchema).default([
    // Embedded defaults serve this machine only (server.host 127.0.0.1): REST needs no key from it.
    { id: 'rest', type: 'rest', enabled: true, tenant: 'default', auth: 'none' },
    { id: 'webchat', type: 'webchat', enabled: true, tenant: 'default' },
  ]),
});

export type HubConfig = z.infer<typeof hubConfigSchema>;
export type ChannelConfig = z.infer<typeof channelSchema>;
