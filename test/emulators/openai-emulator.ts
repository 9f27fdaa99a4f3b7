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

export async function startOpenAiEmulator(options: OpenAiEmulatorOptions = {}): Promise<OpenAiEmulator> {
  const model = options.model ?? 'Qwen/Qwen3-14B';
  const dimensions = options.embeddingDimensions ?? 256;
  const requests: ReceivedRequest[] = [];
  let replies: ReplyScript[] = [];
  let failures: InjectedFailure[] = [];
  let latency = { requestMs: options.latencyMs ?? 0, chunkMs: options.chunkDelayMs ?? 0 };

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
    const reply = next === undefined ? defaultReply(body) : resolveReply(next, body);
    if (reply.delayMs) await delay(reply.delayMs);
    const replyModel = body.model ?? model;
    if (!body.stream) return sendJson(res, 200, completionOf(reply, body, replyModel));

    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    const chunks = streamChunksOf(reply, body, replyModel);
    for (const [index, chunk] of chunks.entries()) {
      if (index === stallAfter) return; // leave the stream open and silent
      if (index > 0 && latency.chunkMs) await delay(latency.chunkMs);
      if (res.destroyed) return;
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
    reset: () => {
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

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '8000' },
      host: { type: 'string', default: '127.0.0.1' },
      'latency-ms': { type: 'string', default: '0' },
      'chunk-delay-ms': { type: 'string', default: '0' },
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
