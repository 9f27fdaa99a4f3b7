import OpenAI from 'openai';
import { countTokens } from '../../core/llm/tokenizer';
import { seededRandom as rng } from '../../core/random';
import { percentile as nearestRank } from '../load';

/**
 * Conversation-shaped load on an OpenAI-compatible endpoint (vLLM, or the LLM emulator in CI):
 * every request carries the same long system prompt + retrieved passages (what prefix caching is for)
 * and a different customer question, streamed, so time to first token and time per output token
 * can be measured separately.
 */
export interface ServingOptions {
  /** Base URL including `/v1`. */
  url: string;
  model?: string;
  apiKey?: string;
  /** Closed loop: this many requests in flight at once. Ignored when `rate` is set. */
  concurrency: number;
  /** Open loop: Poisson arrivals at this many requests per second (in-flight count unbounded). */
  rate?: number;
  requests: number;
  promptTokens: number;
  sharedPrefixTokens: number;
  maxTokens: number;
  /** Hub base URL: the same questions are also sent through POST /webhooks/<restChannel>. */
  viaHub?: string;
  restChannel?: string;
  /** Per-request deadline. */
  timeoutMs?: number;
  /** Seed for the question mix and arrival times, so two runs send the same load. */
  seed?: number;
}

export interface Percentiles {
  p50: number;
  p99: number;
  mean: number;
}

export interface ServingReport {
  target: string;
  mode: 'closed-loop' | 'open-loop';
  requests: number;
  completed: number;
  errors: number;
  errorKinds: Record<string, number>;
  durationS: number;
  requestsPerS: number;
  outputTokensPerS: number;
  promptTokens: number;
  sharedPrefixTokens: number;
  /** Milliseconds from sending to the first content token. */
  ttftMs: Percentiles;
  /** Milliseconds per output token after the first: (end − first token) / (tokens − 1). */
  tpotMs: Percentiles;
  /** Milliseconds from sending to the last token. */
  latencyMs: Percentiles;
}

export interface HubComparison {
  hub: string;
  /** Questions sent through the hub, and how many were answered (200, or 202 then fetched). */
  requests: number;
  completed: number;
  direct: Percentiles;
  viaHub: Percentiles;
  hubErrors: number;
  errorKinds: Record<string, number>;
  /** Replies by `source` (llm, extractive, ...): an overhead over extractive answers measures no model call. */
  answerSources: Record<string, number>;
  /** viaHub end-to-end latency p50 ÷ direct end-to-end latency p50. */
  overheadRatioP50: number;
  overheadRatioP99: number;
}

/** Nearest-rank percentile, `q` in percent; NaN for no samples so an empty run never reads as "0 ms". */
export function percentile(sorted: number[], q: number): number {
  return nearestRank(sorted, q / 100);
}

export function summarise(samples: number[]): Percentiles {
  const sorted = [...samples].sort((a, b) => a - b);
  const mean = sorted.length ? sorted.reduce((s, v) => s + v, 0) / sorted.length : Number.NaN;
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), mean };
}

const PASSAGE_SENTENCES = [
  'Orders placed before 14:00 on a working day leave the warehouse the same day.',
  'Returns are accepted within 30 days of delivery when the item is unused and in its original packaging.',
  'Refunds go back to the original payment method within five working days of the return arriving.',
  'Express delivery costs 9.90 and arrives the next working day in most postcodes.',
  'A damaged parcel should be photographed and reported within 48 hours of delivery.',
  'Gift cards cannot be exchanged for cash and are valid for three years.',
  'Customers can change the delivery address until the order has been handed to the carrier.',
  'The loyalty programme gives one point per euro spent; 100 points are worth a 5 euro voucher.',
];

/**
 * Questions the shop's knowledge base answers (knowledge/): through the hub they take the retrieval
 * and model path. Order-status or return requests would start a flow instead, and `--via-hub` would
 * time an answer that never reaches the model.
 */
const QUESTIONS = [
  'How long does standard shipping take, and do you ship to Hong Kong?',
  'Which payment methods do you accept?',
  'Can I get an invoice?',
  'What is your warranty policy for electronics?',
  'How much is express delivery?',
  'Do you ship abroad?',
  'How do I reset my password?',
  'How do I change my account email?',
];

/** Append sentences until `text` reaches `tokens` Qwen3 tokens (counted, not estimated). */
function grow(head: string, tokens: number, random: () => number, tag: string): string {
  const parts = [head];
  let count = countTokens(head);
  let n = 0;
  while (count < tokens) {
    const sentence = `[${tag}${n++}] ${PASSAGE_SENTENCES[Math.floor(random() * PASSAGE_SENTENCES.length)]}`;
    parts.push(sentence);
    count += countTokens(`${sentence}\n`);
  }
  return parts.join('\n');
}

export interface Conversation {
  system: string;
  user: string;
  /** The customer's question alone, as sent to the hub. */
  question: string;
}

/**
 * One shared prefix (system prompt + retrieved passages, `sharedPrefixTokens` long) and, per request,
 * request-specific passages plus a question making up the rest of `promptTokens`.
 */
export function buildConversations(
  options: Pick<ServingOptions, 'requests' | 'promptTokens' | 'sharedPrefixTokens' | 'seed'>,
): Conversation[] {
  const random = rng(options.seed ?? 1);
  const shared = grow(
    'You are the customer-service assistant of an online shop. Answer only from the passages below; say so when they do not cover the question.\n\nPassages:',
    options.sharedPrefixTokens,
    random,
    'S',
  );
  const variable = Math.max(0, options.promptTokens - options.sharedPrefixTokens);
  return Array.from({ length: options.requests }, (_, i) => {
    const asked = QUESTIONS[Math.floor(random() * QUESTIONS.length)] as string;
    // Numbered, so no two direct prompts are identical (a fully cached prompt is not a real load).
    const question = `${asked} (ticket ${i})`;
    const rest =
      variable > countTokens(question)
        ? grow('More passages:', variable - countTokens(question), random, `R${i}-`)
        : '';
    return { system: shared, user: rest ? `${rest}\n\nQuestion: ${question}` : question, question: asked };
  });
}

interface Sample {
  ok: boolean;
  error?: string;
  startedAt: number;
  firstTokenAt?: number;
  endedAt: number;
  outputTokens: number;
}

function errorKind(error: unknown): string {
  // The timeout class is a subclass of the connection error class: ask for it first.
  if (error instanceof OpenAI.APIConnectionTimeoutError) return 'timeout';
  if (error instanceof OpenAI.APIError) return error.status ? `http_${error.status}` : 'connection';
  if (error instanceof Error) return error.name === 'AbortError' ? 'timeout' : error.name;
  return 'unknown';
}

async function streamOne(
  client: OpenAI,
  model: string,
  c: Conversation,
  maxTokens: number,
  timeoutMs: number,
): Promise<Sample> {
  const startedAt = performance.now();
  let firstTokenAt: number | undefined;
  let text = '';
  let usageTokens: number | undefined;
  try {
    const body: OpenAI.Chat.ChatCompletionCreateParamsStreaming & {
      chat_template_kwargs: { enable_thinking: boolean };
    } = {
      model,
      stream: true,
      stream_options: { include_usage: true },
      max_tokens: maxTokens,
      temperature: 0,
      messages: [
        { role: 'system', content: c.system },
        { role: 'user', content: c.user },
      ],
      // vLLM / Qwen3 extension: the hub sends thinking off; so does the benchmark, to measure the same work.
      chat_template_kwargs: { enable_thinking: false },
    };
    const stream = await client.chat.completions.create(body, { timeout: timeoutMs, maxRetries: 0 });
    for await (const chunk of stream) {
      const delta = chunk.choices[0]?.delta?.content;
      if (delta) {
        firstTokenAt ??= performance.now();
        text += delta;
      }
      if (chunk.usage?.completion_tokens !== undefined) usageTokens = chunk.usage.completion_tokens;
    }
    const endedAt = performance.now();
    return { ok: true, startedAt, firstTokenAt, endedAt, outputTokens: usageTokens ?? countTokens(text) };
  } catch (error) {
    return { ok: false, error: errorKind(error), startedAt, endedAt: performance.now(), outputTokens: 0 };
  }
}

/** Run `task(i)` for i in [0, n): closed loop with `concurrency` workers, or Poisson arrivals at `rate`/s. */
async function drive<T>(
  n: number,
  options: Pick<ServingOptions, 'concurrency' | 'rate' | 'seed'>,
  task: (i: number) => Promise<T>,
): Promise<T[]> {
  const results: T[] = new Array(n);
  if (options.rate && options.rate > 0) {
    const random = rng((options.seed ?? 1) + 7);
    const pending: Promise<void>[] = [];
    for (let i = 0; i < n; i++) {
      pending.push(
        task(i).then((r) => {
          results[i] = r;
        }),
      );
      if (i < n - 1) {
        const gapMs = (-Math.log(1 - random()) / options.rate) * 1000;
        await new Promise((done) => setTimeout(done, gapMs));
      }
    }
    await Promise.all(pending);
    return results;
  }
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      results[i] = await task(i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency, n)) }, worker));
  return results;
}

function report(target: string, options: ServingOptions, samples: Sample[], wallMs: number): ServingReport {
  const ok = samples.filter((s) => s.ok);
  const errorKinds: Record<string, number> = {};
  for (const s of samples)
    if (!s.ok) errorKinds[s.error ?? 'unknown'] = (errorKinds[s.error ?? 'unknown'] ?? 0) + 1;
  const outputTokens = ok.reduce((sum, s) => sum + s.outputTokens, 0);
  const durationS = wallMs / 1000;
  return {
    target,
    mode: options.rate ? 'open-loop' : 'closed-loop',
    requests: samples.length,
    completed: ok.length,
    errors: samples.length - ok.length,
    errorKinds,
    durationS,
    requestsPerS: ok.length / durationS,
    outputTokensPerS: outputTokens / durationS,
    promptTokens: options.promptTokens,
    sharedPrefixTokens: options.sharedPrefixTokens,
    ttftMs: summarise(
      ok.filter((s) => s.firstTokenAt !== undefined).map((s) => (s.firstTokenAt as number) - s.startedAt),
    ),
    tpotMs: summarise(
      ok
        .filter((s) => s.firstTokenAt !== undefined && s.outputTokens > 1)
        .map((s) => (s.endedAt - (s.firstTokenAt as number)) / (s.outputTokens - 1)),
    ),
    latencyMs: summarise(ok.map((s) => s.endedAt - s.startedAt)),
  };
}

export async function runServingBenchmark(options: ServingOptions): Promise<ServingReport> {
  const client = new OpenAI({
    baseURL: options.url,
    apiKey: options.apiKey ?? process.env.OPENAI_API_KEY ?? 'none',
  });
  // Prompts first: tokenizing them takes seconds for big runs, and a connection left idle that long
  // after the model lookup is closed by the server (uvicorn keeps idle connections 5 s), failing the first request.
  const conversations = buildConversations(options);
  const model = options.model ?? (await client.models.list()).data[0]?.id ?? 'default';
  const started = performance.now();
  const samples = await drive(options.requests, options, (i) =>
    streamOne(
      client,
      model,
      conversations[i] as Conversation,
      options.maxTokens,
      options.timeoutMs ?? 120_000,
    ),
  );
  return report(options.url, options, samples, performance.now() - started);
}

/**
 * The same questions through the hub's REST channel (the hub adds retrieval, its own prompt, the bus
 * and the store around the model call), timed end to end, against the direct end-to-end latency.
 * A `202` (the hub's reply took longer than `server.replyTimeoutMs`) is followed up on
 * `GET /webhooks/<channel>/replies/<event id>` until the reply is there, so slow turns count as slow, not as lost.
 */
export async function runViaHub(options: ServingOptions, direct: ServingReport): Promise<HubComparison> {
  const hub = (options.viaHub as string).replace(/\/$/, '');
  const channel = options.restChannel ?? 'rest';
  const timeoutMs = options.timeoutMs ?? 120_000;
  const conversations = buildConversations(options);
  const runId = Date.now().toString(36);
  const latencies: number[] = [];
  const errorKinds: Record<string, number> = {};
  const answerSources: Record<string, number> = {};
  const failed = (kind: string) => {
    errorKinds[kind] = (errorKinds[kind] ?? 0) + 1;
  };
  await drive(options.requests, options, async (i) => {
    const { question } = conversations[i] as Conversation;
    const startedAt = performance.now();
    const signal = AbortSignal.timeout(timeoutMs);
    try {
      const response = await fetch(`${hub}/webhooks/${channel}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ sender: `bench-${runId}-${i}`, message: question }),
        signal,
      });
      let replies = response.ok ? ((await response.json()) as HubReply[]) : [];
      if (!response.ok) await response.text();
      const eventId = response.headers.get('x-hub-event-id');
      if (response.status === 202 && eventId) {
        replies = await awaitReplies(`${hub}/webhooks/${channel}/replies/${eventId}`, signal);
      }
      if (!response.ok) return failed(`http_${response.status}`);
      if (replies.length === 0) return failed('no_reply');
      latencies.push(performance.now() - startedAt);
      for (const reply of replies)
        answerSources[reply.source ?? 'unknown'] = (answerSources[reply.source ?? 'unknown'] ?? 0) + 1;
    } catch (error) {
      failed(error instanceof Error && error.name === 'TimeoutError' ? 'timeout' : 'connection');
    }
  });
  const viaHub = summarise(latencies);
  return {
    hub,
    requests: options.requests,
    completed: latencies.length,
    direct: direct.latencyMs,
    viaHub,
    hubErrors: options.requests - latencies.length,
    errorKinds,
    answerSources,
    overheadRatioP50: viaHub.p50 / direct.latencyMs.p50,
    overheadRatioP99: viaHub.p99 / direct.latencyMs.p99,
  };
}

interface HubReply {
  text?: string;
  source?: string;
}

/** Poll the hub's reply endpoint for a turn it answered 202 to, until a reply exists or `signal` ends. */
async function awaitReplies(url: string, signal: AbortSignal): Promise<HubReply[]> {
  for (;;) {
    const response = await fetch(url, { signal });
    const replies = response.ok ? ((await response.json()) as HubReply[]) : [];
    if (replies.length > 0) return replies;
    await new Promise((done) => setTimeout(done, 25));
    signal.throwIfAborted();
  }
}

const ms = (v: number) => (Number.isNaN(v) ? 'n/a' : `${v.toFixed(1)} ms`);

export function formatReport(r: ServingReport, hub?: HubComparison): string {
  const lines = [
    `target            ${r.target} (${r.mode})`,
    `prompt            ${r.promptTokens} tokens, ${r.sharedPrefixTokens} shared prefix`,
    `requests          ${r.completed}/${r.requests} ok, ${r.errors} errors ${JSON.stringify(r.errorKinds)}`,
    `duration          ${r.durationS.toFixed(2)} s`,
    `TTFT              p50 ${ms(r.ttftMs.p50)}  p99 ${ms(r.ttftMs.p99)}`,
    `time/output token p50 ${ms(r.tpotMs.p50)}  p99 ${ms(r.tpotMs.p99)}`,
    `latency           p50 ${ms(r.latencyMs.p50)}  p99 ${ms(r.latencyMs.p99)}`,
    `throughput        ${r.outputTokensPerS.toFixed(1)} output tokens/s, ${r.requestsPerS.toFixed(2)} requests/s`,
  ];
  if (hub) {
    lines.push(
      `via hub           ${hub.completed}/${hub.requests} ok, ${hub.hubErrors} errors ${JSON.stringify(hub.errorKinds)}, answers ${JSON.stringify(hub.answerSources)}`,
      `via hub latency   p50 ${ms(hub.viaHub.p50)}  p99 ${ms(hub.viaHub.p99)}`,
      `hub overhead      ×${hub.overheadRatioP50.toFixed(2)} at p50, ×${hub.overheadRatioP99.toFixed(2)} at p99 (hub end-to-end ÷ direct end-to-end)`,
    );
  }
  return lines.join('\n');
}
