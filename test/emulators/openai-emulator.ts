import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import {
  type ChatBody,
  completionOf,
  defaultReply,
  embed,
  type ReplyScript,
  resolveReply,
  responseFormatError,
  type ScriptedReply,
  streamChunksOf,
  toBase64,
} from './openai-emulator-replies';

export type { ChatBody, ReplyScript, ScriptedReply, ScriptedToolCall } from './openai-emulator-replies';

/**
 * A local OpenAI-compatible server (the subset vLLM serves: chat completions with SSE streaming
 * and tools, models, embeddings) whose answers, latency and failures tests can script.
 */
export interface OpenAiEmulatorOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  /** Wait before answering each request. */
  latencyMs?: number;
  /** Wait between stream chunks. */
  chunkDelayMs?: number;
  /** Model named by /v1/models and in replies to requests that name none. */
  model?: string;
  /** When set, requests without `Authorization: Bearer <apiKey>` get 401, as a real server would. */
  apiKey?: string;
  embeddingDimensions?: number;
  /**
   * GPU-like timing of chat completions (all unset: none). A request holds one of `maxConcurrent`
   * slots for `timeToFirstTokenMs + tokens × tokenMs`; a stream sends its first piece after the
   * first and spreads the rest over the second. Requests beyond the slots wait in a queue, as in
   * vLLM with `--max-num-seqs`.
   */
  gpu?: GpuTiming;
  /** The reply when none is scripted; undefined falls back to the default reply. */
  replyFor?: (body: ChatBody, kind: ChatKind) => ScriptedReply | undefined;
}

export interface GpuTiming {
  /** Prefill and scheduling before the first token. */
  timeToFirstTokenMs?: number;
  /** Decoding time of each generated token. */
  tokenMs?: number;
  /** Tokens an answer generates (unset: the reply's own estimated length). */
  answerTokens?: number;
  /** Sequences served at once; more wait in a queue (unset: no limit). */
  maxConcurrent?: number;
}

/** What a chat completion request asks for: read from its shape, as a bench would tell them apart. */
export type ChatKind = 'classify' | 'rewrite' | 'answer' | 'probe' | 'other';

/** One chat completion as the emulator served it (times in ms, `performance.now()` clock of this process). */
export interface ServedRequest {
  kind: ChatKind;
  arrivedAt: number;
  /** When it got a slot; undefined when it was aborted while queued. */
  startedAt?: number;
  endedAt: number;
  /** The client went away before the reply was complete (an AbortSignal on its side). */
  aborted: boolean;
  /** Slot time: what it cost the GPU, aborted requests' time up to the abort included. */
  busyMs: number;
  /** Time waiting for a slot. */
  queuedMs: number;
  /** The last user message (its last 500 characters: where a RAG prompt puts the question), to tell whose turn it served. */
  lastUser: string;
}

export interface KindCounters {
  requests: number;
  aborted: number;
  busyMs: number;
  queuedMs: number;
}

export interface EmulatorStats {
  byKind: Record<ChatKind, KindCounters>;
  /** Slots in use and requests waiting for one, now. */
  active: number;
  queued: number;
  /** Most requests ever waiting for a slot at once (since the last reset of the stats). */
  maxQueued: number;
}

export type Endpoint = 'chat' | 'embeddings' | 'any';

/** The next `times` (default 1) requests to `endpoint` (default chat) fail this way. */
export type InjectedFailure =
  | { status: number; retryAfter?: number | string; message?: string; times?: number; endpoint?: Endpoint }
  /** Never answer (a stream first sends `afterChunks` chunks, then stalls). */
  | { hang: true; afterChunks?: number; times?: number; endpoint?: Endpoint };

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: unknown;
  at: number;
}

export interface OpenAiEmulator {
  /** Base URL including `/v1`, ready for `baseURL` / `llm.baseUrl`. */
  readonly url: string;
  readonly port: number;
  /** Every API request received, failed ones included (control requests excluded). */
  readonly requests: ReceivedRequest[];
  /** Bodies of the chat completion requests, in order. */
  chatRequests(): ChatBody[];
  /** Queue replies; each chat request takes the next one, then defaults resume. */
  script(...replies: ReplyScript[]): void;
  fail(failure: InjectedFailure): void;
  setLatency(latency: { requestMs?: number; chunkMs?: number }): void;
  /** Counters by kind of request since start or the last `takeServed`/`reset`. */
  stats(): EmulatorStats;
  /** The served chat completions logged since the last call, oldest first (the log is emptied). */
  takeServed(): ServedRequest[];
  /** Forget scripts, failures and the request log; latency back to the options. */
  reset(): void;
  close(): Promise<void>;
}

const delay = (ms: number) => new Promise((done) => setTimeout(done, ms));

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
}

const errorTypes: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  404: 'not_found_error',
  429: 'rate_limit_error',
};

function sendError(
  res: ServerResponse,
  status: number,
  message: string,
  headers?: Record<string, string>,
): void {
  const type = errorTypes[status] ?? (status >= 500 ? 'server_error' : 'invalid_request_error');
  sendJson(res, status, { error: { message, type, param: null, code: null } }, headers);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const parts: Buffer[] = [];
  for await (const part of req) parts.push(part as Buffer);
  const raw = Buffer.concat(parts).toString('utf8');
  return raw ? JSON.parse(raw) : undefined;
}

/** Served requests kept for `takeServed` when nobody takes them (a long test run). */
const MAX_SERVED_LOG = 100_000;

const CHAT_KINDS: ChatKind[] = ['classify', 'rewrite', 'answer', 'probe', 'other'];

function emptyCounters(): Record<ChatKind, KindCounters> {
  return Object.fromEntries(
    CHAT_KINDS.map((kind) => [kind, { requests: 0, aborted: 0, busyMs: 0, queuedMs: 0 }]),
  ) as Record<ChatKind, KindCounters>;
}

function lastUserText(body: ChatBody): string {
  const last = [...(body.messages ?? [])].reverse().find((m) => m.role === 'user');
  return typeof last?.content === 'string' ? last.content : '';
}

/** The hub's requests by their shape: the intent schema, the rewrite instruction, the health probe, an answer. */
export function chatKindOf(body: ChatBody): ChatKind {
  const format = body.response_format as { type?: string; json_schema?: { name?: string } } | undefined;
  if (format?.type === 'json_schema') return format.json_schema?.name === 'intent' ? 'classify' : 'other';
  if (body.max_tokens === 1) return 'probe';
  const system = body.messages?.find((m) => m.role === 'system')?.content ?? '';
  if (/^Rewrite the customer's last message/.test(system)) return 'rewrite';
  // A ticket's case summary (core/tickets/case-summary.ts) is no answer to a customer.
  if (/^You write the case summary/.test(system)) return 'other';
  return body.messages?.length ? 'answer' : 'other';
}

/** Tokens of a text, roughly: a Han character each, else four characters each. */
export function estimateTokens(text: string): number {
  let han = 0;
  for (const char of text) if (/\p{Script=Han}/u.test(char)) han++;
  return han + Math.ceil((text.length - han) / 4);
}

/** A wait that ends early, throwing, when the signal fires. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(new Error('client gone'));
  if (ms <= 0) return Promise.resolve();
  return new Promise((done, fail) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      done();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      fail(new Error('client gone'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** `limit` slots served first come, first served; unlimited when undefined. */
function createSlots(limit: number | undefined) {
  let active = 0;
  let maxQueued = 0;
  const waiting: Array<{ start: () => void; signal: AbortSignal; onAbort: () => void }> = [];
  return {
    active: () => active,
    queued: () => waiting.length,
    maxQueued: () => maxQueued,
    resetMax: () => {
      maxQueued = waiting.length;
    },
    acquire(signal: AbortSignal): Promise<void> {
      if (signal.aborted) return Promise.reject(new Error('client gone'));
      if (limit === undefined || active < limit) {
        active++;
        return Promise.resolve();
      }
      return new Promise((start, fail) => {
        const entry = {
          start,
          signal,
          onAbort: () => {
            waiting.splice(waiting.indexOf(entry), 1);
            fail(new Error('client gone'));
          },
        };
        signal.addEventListener('abort', entry.onAbort, { once: true });
        waiting.push(entry);
        maxQueued = Math.max(maxQueued, waiting.length);
      });
    },
    release(): void {
      const next = waiting.shift();
      if (!next) {
        active--;
        return;
      }
      // The slot passes straight to the next in line.
      next.signal.removeEventListener('abort', next.onAbort);
      next.start();
    },
  };
}

export async function startOpenAiEmulator(options: OpenAiEmulatorOptions = {}): Promise<OpenAiEmulator> {
  const model = options.model ?? 'Qwen/Qwen3-14B';
  const dimensions = options.embeddingDimensions ?? 256;
  const requests: ReceivedRequest[] = [];
  let replies: ReplyScript[] = [];
  let failures: InjectedFailure[] = [];
  let latency = { requestMs: options.latencyMs ?? 0, chunkMs: options.chunkDelayMs ?? 0 };
  const gpu: GpuTiming = options.gpu ?? {};
  const slots = createSlots(gpu.maxConcurrent);
  let counters = emptyCounters();
  let served: ServedRequest[] = [];

  function takeFailure(endpoint: Exclude<Endpoint, 'any'>): InjectedFailure | undefined {
    const index = failures.findIndex((f) => (f.endpoint ?? 'chat') === endpoint || f.endpoint === 'any');
    const failure = failures[index];
    if (!failure) return undefined;
    const times = (failure.times ?? 1) - 1;
    if (times <= 0) failures.splice(index, 1);
    else failures[index] = { ...failure, times };
    return failure;
  }

  /** True when the failure was served (or the request parked forever). */
  function serveFailure(res: ServerResponse, failure: InjectedFailure | undefined): boolean {
    if (!failure) return false;
    if ('hang' in failure) return true;
    const headers: Record<string, string> =
      failure.retryAfter === undefined ? {} : { 'retry-after': String(failure.retryAfter) };
    sendError(res, failure.status, failure.message ?? `injected failure ${failure.status}`, headers);
    return true;
  }

  async function chat(body: ChatBody, res: ServerResponse): Promise<void> {
    if (!Array.isArray(body?.messages)) return sendError(res, 400, 'messages: field required');
    const formatError = responseFormatError(body.response_format);
    if (formatError) return sendError(res, 400, formatError);
    const failure = takeFailure('chat');
    const stallAfter = failure && 'hang' in failure ? (failure.afterChunks ?? 0) : undefined;
    if (!(body.stream && stallAfter !== undefined) && serveFailure(res, failure)) return;
    const next = replies.shift();
    const kind = chatKindOf(body);
    const reply =
      next === undefined ? (options.replyFor?.(body, kind) ?? defaultReply(body)) : resolveReply(next, body);
    if (reply.delayMs) await delay(reply.delayMs);
    const record: ServedRequest = {
      kind,
      arrivedAt: performance.now(),
      endedAt: 0,
      aborted: false,
      busyMs: 0,
      queuedMs: 0,
      lastUser: lastUserText(body).slice(-500),
    };
    // The client's AbortSignal closes the connection: the request leaves the queue or its slot.
    const gone = new AbortController();
    res.once('close', () => {
      if (!res.writableFinished) gone.abort();
    });
    try {
      await slots.acquire(gone.signal);
    } catch {
      return settle(record, true);
    }
    record.startedAt = performance.now();
    record.queuedMs = record.startedAt - record.arrivedAt;
    try {
      await serveChat(body, reply, kind, res, stallAfter, gone.signal);
      settle(record, gone.signal.aborted);
    } catch {
      settle(record, true);
    } finally {
      slots.release();
    }
  }

  function settle(record: ServedRequest, aborted: boolean): void {
    record.endedAt = performance.now();
    record.aborted = aborted;
    record.busyMs = record.startedAt === undefined ? 0 : record.endedAt - record.startedAt;
    const counter = counters[record.kind];
    counter.requests++;
    if (aborted) counter.aborted++;
    counter.busyMs += record.busyMs;
    counter.queuedMs += record.queuedMs;
    served.push(record);
    if (served.length > MAX_SERVED_LOG) served.splice(0, served.length - MAX_SERVED_LOG);
  }

  /** How long the GPU works on this reply: prefill, then each token (none without `gpu` timing). */
  function serviceMs(
    reply: ScriptedReply,
    kind: ChatKind,
    body: ChatBody,
  ): { firstMs: number; decodeMs: number } {
    const firstMs = gpu.timeToFirstTokenMs ?? 0;
    if (!gpu.tokenMs) return { firstMs, decodeMs: 0 };
    const own = estimateTokens(
      (reply.text ?? '') + (reply.toolCalls ?? []).map((c) => JSON.stringify(c.arguments)).join(''),
    );
    const wanted = kind === 'answer' && gpu.answerTokens !== undefined ? gpu.answerTokens : own;
    const tokens = Math.max(1, Math.min(wanted, body.max_tokens ?? wanted));
    return { firstMs, decodeMs: tokens * gpu.tokenMs };
  }

  async function serveChat(
    body: ChatBody,
    reply: ScriptedReply,
    kind: ChatKind,
    res: ServerResponse,
    stallAfter: number | undefined,
    signal: AbortSignal,
  ): Promise<void> {
    const { firstMs, decodeMs } = serviceMs(reply, kind, body);
    const replyModel = body.model ?? model;
    if (!body.stream) {
      await pause(firstMs + decodeMs, signal);
      return sendJson(res, 200, completionOf(reply, body, replyModel));
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    const chunks = streamChunksOf(reply, body, replyModel);
    // The role and first piece come after the first token's time; the rest share the decoding time.
    const perChunkMs = decodeMs / Math.max(1, chunks.length - 2);
    await pause(firstMs, signal);
    for (const [index, chunk] of chunks.entries()) {
      if (index === stallAfter) {
        // Open and silent until the client gives up; its slot is held meanwhile, as a stuck sequence's would be.
        await new Promise<void>((gave) => signal.addEventListener('abort', () => gave(), { once: true }));
        throw new Error('client gone');
      }
      if (index > 1) await pause(perChunkMs, signal);
      if (index > 0 && latency.chunkMs) await pause(latency.chunkMs, signal);
      if (res.destroyed) throw new Error('client gone');
      res.write(`data: ${JSON.stringify(chunk)}\n\n`);
    }
    res.end('data: [DONE]\n\n');
  }

  function embeddings(body: {
    input?: unknown;
    model?: string;
    dimensions?: number;
    encoding_format?: string;
  }) {
    const inputs = Array.isArray(body?.input) ? body.input : [body?.input];
    const size = body?.dimensions ?? dimensions;
    const data = inputs.map((input, index) => {
      const vector = embed(typeof input === 'string' ? input : JSON.stringify(input), size);
      const embedding = body?.encoding_format === 'base64' ? toBase64(vector) : vector;
      return { object: 'embedding', index, embedding };
    });
    const tokens = inputs.reduce<number>((sum, input) => sum + Math.ceil(String(input).length / 4), 0);
    return {
      object: 'list',
      data,
      model: body?.model ?? model,
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    };
  }

  /** Lets a test in another process (spawned emulator) script it over HTTP. */
  async function control(action: string, body: unknown, res: ServerResponse): Promise<void> {
    if (action === 'requests') return sendJson(res, 200, requests);
    if (action === 'stats') return sendJson(res, 200, api.stats());
    if (action === 'served') return sendJson(res, 200, api.takeServed());
    if (action === 'script') api.script(...((body as { replies?: ReplyScript[] })?.replies ?? []));
    else if (action === 'fail') api.fail(body as InjectedFailure);
    else if (action === 'latency') api.setLatency(body as { requestMs?: number; chunkMs?: number });
    else if (action === 'reset') api.reset();
    else return sendError(res, 404, `unknown control action ${action}`);
    sendJson(res, 200, { ok: true });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://emulator').pathname;
    let body: unknown;
    try {
      body = await readJson(req);
    } catch {
      return sendError(res, 400, 'request body is not valid JSON');
    }
    if (path.startsWith('/__emulator/')) return control(path.slice('/__emulator/'.length), body, res);
    if (req.method === 'GET' && path === '/health') return void res.writeHead(200).end();
    requests.push({ method: req.method ?? 'GET', path, headers: req.headers, body, at: Date.now() });
    if (latency.requestMs) await delay(latency.requestMs);
    if (options.apiKey && req.headers.authorization !== `Bearer ${options.apiKey}`) {
      return sendError(res, 401, 'Incorrect API key provided');
    }
    if (req.method === 'GET' && path === '/v1/models') {
      const card = { id: model, object: 'model', created: 0, owned_by: 'openai-emulator' };
      return sendJson(res, 200, { object: 'list', data: [card] });
    }
    if (req.method === 'POST' && path === '/v1/chat/completions') return chat(body as ChatBody, res);
    if (req.method === 'POST' && path === '/v1/embeddings') {
      if (serveFailure(res, takeFailure('embeddings'))) return;
      return sendJson(res, 200, embeddings(body as Parameters<typeof embeddings>[0]));
    }
    sendError(res, 404, `no route ${req.method} ${path}`);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) sendError(res, 500, `emulator error: ${String(error)}`);
      else res.destroy();
    });
  });
  await new Promise<void>((ready) => server.listen(options.port ?? 0, options.host ?? '127.0.0.1', ready));
  const { port } = server.address() as AddressInfo;
  const host = options.host && options.host !== '0.0.0.0' ? options.host : '127.0.0.1';

  const api: OpenAiEmulator = {
    url: `http://${host}:${port}/v1`,
    port,
    requests,
    chatRequests: () =>
      requests
        .filter((r) => r.path === '/v1/chat/completions' && r.method === 'POST')
        .map((r) => r.body as ChatBody),
    script: (...more) => {
      replies.push(...more);
    },
    fail: (failure) => {
      failures.push(failure);
    },
    setLatency: (next) => {
      latency = { ...latency, ...next };
    },
    stats: () => ({
      byKind: structuredClone(counters),
      active: slots.active(),
      queued: slots.queued(),
      maxQueued: slots.maxQueued(),
    }),
    takeServed: () => {
      const taken = served;
      served = [];
      return taken;
    },
    reset: () => {
      counters = emptyCounters();
      served = [];
      slots.resetMax();
      replies = [];
      failures = [];
      requests.length = 0;
      latency = { requestMs: options.latencyMs ?? 0, chunkMs: options.chunkDelayMs ?? 0 };
    },
    close: () =>
      new Promise<void>((closed) => {
        // Hung requests and keep-alive sockets would hold close() open forever.
        server.closeAllConnections();
        server.close(() => closed());
      }),
  };
  return api;
}

const optionalNumber = (value: string | undefined) => (value === undefined ? undefined : Number(value));

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '8000' },
      host: { type: 'string', default: '127.0.0.1' },
      'latency-ms': { type: 'string', default: '0' },
      'chunk-delay-ms': { type: 'string', default: '0' },
      'ttft-ms': { type: 'string' },
      'token-ms': { type: 'string' },
      'answer-tokens': { type: 'string' },
      'max-concurrent': { type: 'string' },
      model: { type: 'string' },
      'api-key': { type: 'string' },
      'embedding-dimensions': { type: 'string' },
    },
  });
  const emulator = await startOpenAiEmulator({
    port: Number(values.port),
    host: values.host,
    latencyMs: Number(values['latency-ms']),
    chunkDelayMs: Number(values['chunk-delay-ms']),
    gpu: {
      timeToFirstTokenMs: optionalNumber(values['ttft-ms']),
      tokenMs: optionalNumber(values['token-ms']),
      answerTokens: optionalNumber(values['answer-tokens']),
      maxConcurrent: optionalNumber(values['max-concurrent']),
    },
    model: values.model,
    apiKey: values['api-key'],
    embeddingDimensions: values['embedding-dimensions'] ? Number(values['embedding-dimensions']) : undefined,
  });
  // The first stdout line is the URL: spawning tests read it to learn the port.
  process.stdout.write(`${emulator.url}\n`);
  const stop = () => void emulator.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((error: unknown) => {
    process.stderr.write(`openai-emulator: ${String(error)}\n`);
    process.exit(1);
  });
}
