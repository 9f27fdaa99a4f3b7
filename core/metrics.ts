import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** The process's Prometheus registry and the hub's own series. */
export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'hub_process_' });

export const messagesIn = new Counter({
  name: 'hub_messages_in_total',
  help: 'Inbound events accepted, by channel and kind',
  labelNames: ['channel', 'kind'] as const,
  registers: [registry],
});

/**
 * Every statement the hub sends to its database, BEGIN/COMMIT/ROLLBACK included (core/store/
 * connect.ts counts them where Kysely logs each query): `npm run bench` divides it by messages.
 */
export const dbStatements = new Counter({
  name: 'hub_db_statements_total',
  help: 'SQL statements sent to the database (transaction control included), by driver',
  labelNames: ['driver'] as const,
  registers: [registry],
});

export const messagesOut = new Counter({
  name: 'hub_messages_out_total',
  help: 'Outbound messages produced, by channel and source (llm, extractive, flow, system)',
  labelNames: ['channel', 'source'] as const,
  registers: [registry],
});

export const readinessUp = new Gauge({
  name: 'hub_readiness_up',
  help: 'Readiness checks at the last scrape, 1 ok and 0 down: database, bus, and channel:<id> for each channel',
  labelNames: ['check'] as const,
  registers: [registry],
});

export const duplicatesDropped = new Counter({
  name: 'hub_duplicates_dropped_total',
  help: 'Inbound events dropped as duplicates of an event already accepted',
  labelNames: ['channel'] as const,
  registers: [registry],
});

export const stageLatency = new Histogram({
  name: 'hub_stage_latency_seconds',
  help: 'Latency per pipeline stage (ingress, queue, retrieve, generate, turn)',
  labelNames: ['stage'] as const,
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  registers: [registry],
});

export const errors = new Counter({
  name: 'hub_errors_total',
  help: 'Errors by stage and code',
  labelNames: ['stage', 'code'] as const,
  registers: [registry],
});

export const llmFallbacks = new Counter({
  name: 'hub_llm_fallbacks_total',
  help: 'Answers given extractively instead of by the LLM, by reason (disabled, circuit_open, error, timeout, budget: security.rateLimits.llm spent)',
  labelNames: ['reason'] as const,
  registers: [registry],
});

export const speculativeAnswers = new Counter({
  name: 'hub_intent_speculative_answers_total',
  help: 'Answers started beside the LLM intent tier (dialog.llmIntentTier: speculative), by outcome: used, or dropped (the intent led elsewhere)',
  labelNames: ['outcome'] as const,
  registers: [registry],
});

export const llmRequests = new Counter({
  name: 'hub_llm_requests_total',
  help: 'LLM requests by outcome (ok, error, retry, aborted: called off by the hub), served model, and route (default, light, main, lora, pinned, fallback)',
  labelNames: ['outcome', 'model', 'route'] as const,
  registers: [registry],
});

export const busDeadLetters = new Counter({
  name: 'hub_bus_dead_letters_total',
  help: 'Events moved to the dead-letter queue after exhausting retries',
  registers: [registry],
});

/**
 * Bus handler attempts that threw, by the event's tenant and channel and what the bus did next
 * (retry, dead, outage). The console's error rate and dead letters per tenant come from its growth
 * (core/analytics/system-minutes.ts).
 */
export const turnFailures = new Counter({
  name: 'hub_turn_failures_total',
  help: 'Bus handler attempts that threw, by tenant, channel and verdict (retry, dead: dead-lettered, outage: waits without spending an attempt)',
  labelNames: ['tenant', 'channel', 'verdict'] as const,
  registers: [registry],
});

export const circuitState = new Gauge({
  name: 'hub_circuit_open',
  help: '1 while a circuit breaker (llm, erp, ticketing:<adapter>) is open or half-open',
  labelNames: ['breaker'] as const,
  registers: [registry],
});

/** Measure an async stage into the stage histogram. */
export async function timed<T>(stage: string, fn: () => Promise<T>): Promise<T> {
  const end = stageLatency.startTimer({ stage });
  try {
    return await fn();
  } finally {
    end();
  }
}

/** Every webhook request, by channel and what became of it. */
export const webhookRequests = new Counter({
  name: 'hub_webhook_requests_total',
  help: 'Webhook requests by channel and outcome (accepted, duplicate, ignored, rejected, unauthorized, bad_request, unavailable, rate_limited)',
  labelNames: ['channel', 'outcome'] as const,
  registers: [registry],
});

/**
 * Signed platform requests acknowledged without an event because the payload could not be read
 * (reason: `invalid_event`, `normalize_failed`, `request.invalid_json`, `request.json_too_deep`,
 * …); each is kept in the rejected-webhook store for inspection.
 */
export const webhookRejected = new Counter({
  name: 'hub_webhook_rejected_total',
  help: 'Signed webhook requests whose payload could not be read, by channel and reason',
  labelNames: ['channel', 'reason'] as const,
  registers: [registry],
});

/**
 * Per model version (`llm.models[].version`; a canary counts under its stable model's name), so a
 * canary can be compared with the version it may replace.
 */
export const llmVersionLatency = new Histogram({
  name: 'hub_llm_version_request_seconds',
  help: 'LLM request latency per model and version, by outcome (ok, error); the count is the request count',
  labelNames: ['model', 'version', 'outcome'] as const,
  buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60],
  registers: [registry],
});

export const llmVersionErrors = new Counter({
  name: 'hub_llm_version_errors_total',
  help: 'Failed LLM requests per model and version, by error code',
  labelNames: ['model', 'version', 'code'] as const,
  registers: [registry],
});

export const llmVersionFallbacks = new Counter({
  name: 'hub_llm_version_fallbacks_total',
  help: 'Requests a model version failed that the router then sent to the next endpoint in the fallback order',
  labelNames: ['model', 'version'] as const,
  registers: [registry],
});

export const llmVersionAnswers = new Counter({
  name: 'hub_llm_version_answers_total',
  help: 'Answers a model version wrote for a customer: the denominator of the handoff and thumbs-down rates',
  labelNames: ['model', 'version'] as const,
  registers: [registry],
});

export const llmVersionHandoffs = new Counter({
  name: 'hub_llm_version_handoffs_total',
  help: 'Conversations handed to a person after an answer by this model version (at most one per answer)',
  labelNames: ['model', 'version'] as const,
  registers: [registry],
});

export const llmVersionFeedback = new Counter({
  name: 'hub_llm_version_feedback_total',
  help: 'Answers to "did that help?" after an answer by this model version (helpful, unhelpful = thumbs-down)',
  labelNames: ['model', 'version', 'feedback'] as const,
  registers: [registry],
});

export const llmCanaryShare = new Gauge({
  name: 'hub_llm_canary_share',
  help: 'Share of conversations a canary version receives now: the configured share, or 0 once rolled back',
  labelNames: ['model', 'version'] as const,
  registers: [registry],
});

export const llmCanaryRolledBack = new Gauge({
  name: 'hub_llm_canary_rolled_back',
  help: '1 while a canary version is rolled back (until an operator resets it with `hub models reset`)',
  labelNames: ['model', 'version'] as const,
  registers: [registry],
});

/** Every error event of a connection to a dependency (database, Redis), and every query that found it down. */
export const connectionErrors = new Counter({
  name: 'hub_connection_errors_total',
  help: 'Connection errors by component (database, redis:<purpose>, bus) and code (SQLSTATE, errno code or error class)',
  labelNames: ['component', 'code'] as const,
  registers: [registry],
});

export const rateLimited = new Counter({
  name: 'hub_rate_limited_total',
  help: 'Requests, messages, sockets and model calls refused by security.rateLimits, by scope (rest.sender, webchat.ip, webhook.tenant, auth.failures, llm.tenant, ...) and route',
  labelNames: ['scope', 'route'] as const,
  registers: [registry],
});

export const safetyHits = new Counter({
  name: 'hub_safety_hits_total',
  help: 'Content-safety hits, by category (lexicon category, prompt_injection, ungrounded) and stage (input, injection, output, draft, groundedness)',
  labelNames: ['category', 'stage'] as const,
  registers: [registry],
});

export const admissionOutcomes = new Counter({
  name: 'hub_admission_busy_total',
  help: 'Messages that arrived while their tenant was over bus.admission limits: refused (REST, 503) or queued (chat channels, told they wait), by channel and the limit passed (backlog, queue_age)',
  labelNames: ['channel', 'outcome', 'reason'] as const,
  registers: [registry],
});
