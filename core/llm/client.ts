import type OpenAI from 'openai';
import type { ChatCompletionCreateParamsBase } from 'openai/resources/chat/completions';
import { logger } from '../log';
import { llmRequests } from '../metrics';
import { PiiMasker } from '../privacy/mask';
import { type BackoffPolicy, backoffDelay } from '../resilience/backoff';
import { CircuitBreaker, type Permit } from '../resilience/breaker';
import { concurrencyLimit } from '../resilience/concurrency';
import { sleep } from '../resilience/sleep';
import type { ChatRequest, ChatResult } from '../types';
import { HubError } from '../types/errors';
import { isServerFailure, retriesInternally, retryAfterMs, toLlmError } from './errors';
import { maskedLlm } from './masking';
import {
  fromCompletion,
  StreamAssembler,
  toOpenAiMessages,
  toOpenAiResponseFormat,
  toOpenAiTools,
} from './openai-mapping';
import { createLlmRouter } from './router';
import { lazyOpenAi } from './sdk';
import type { EndpointClient, HubLlmClient, LlmClientOptions, LlmConfig } from './types';

export type { EndpointClient, HubLlmClient, LlmClientOptions, LlmConfig } from './types';

/** vLLM's extension to the request body: Qwen3's chat template reads `enable_thinking` from here. */
type VllmChatParams = ChatCompletionCreateParamsBase & {
  chat_template_kwargs: { enable_thinking: boolean };
};

const baseLog = logger.child({ component: 'llm' });

/**
 * The hub's LLM client: a router over `config.models` when they are configured, else the single
 * endpoint `config.baseUrl` / `config.model`. Personal data is masked before any request leaves
 * and put back in what the customer reads (core/llm/masking.ts, `options.privacy`).
 */
export function createLlmClient(config: LlmConfig, options: LlmClientOptions = {}): HubLlmClient {
  const client = config.models?.length
    ? createLlmRouter(config, options, createEndpointClient)
    : createEndpointClient(config, options);
  return maskedLlm(client, new PiiMasker(options.privacy));
}

/** An OpenAI-compatible endpoint with retries, a per-attempt deadline and a circuit breaker. */
export function createEndpointClient(config: LlmConfig, options: LlmClientOptions = {}): EndpointClient {
  const log = options.endpoint ? baseLog.child({ endpoint: options.endpoint }) : baseLog;
  const breakerName = options.endpoint ? `llm:${options.endpoint}` : 'llm';
  const retryBaseMs = options.retryBaseMs ?? 500;
  const retryMaxMs = options.retryMaxMs ?? 8_000;
  const maxRetryAfterMs = options.maxRetryAfterMs ?? 10_000;
  // Retries are ours, not the SDK's: each one must be counted, and a stream that already
  // delivered text to the customer must not be replayed.
  const openai = lazyOpenAi({
    baseURL: config.baseUrl,
    apiKey: config.apiKey,
    maxRetries: 0,
    timeout: config.timeoutMs,
  });
  // Loaded now, in the background, so the first request's deadline does not pay for the import; a
  // failure to load shows on that request.
  openai().catch(() => undefined);
  const { probe, ...breakerConfig } = config.breaker;
  const breaker =
    options.breaker ??
    new CircuitBreaker({
      ...breakerConfig,
      name: breakerName,
      healthCheck: probe && probe !== 'off' ? healthCheck(openai, config.model, probe) : undefined,
      onProbe: (ok) => llmRequests.inc({ model: config.model, route: 'probe', outcome: ok ? 'ok' : 'error' }),
      onChange: (phase) => log.warn({ phase }, 'llm circuit breaker changed state'),
    });

  // One slot per request the server batches at once; a retry waiting out its backoff holds none.
  const limited = concurrencyLimit(
    config.maxConcurrency,
    options.endpoint ? `llm:${options.endpoint}` : 'llm',
  );

  const retryBackoff: BackoffPolicy = {
    baseMs: retryBaseMs,
    maxMs: retryMaxMs,
    maxRetryAfterMs,
    jitter: 'equal',
  };

  /** The wait before retry number `retry + 1`; undefined when the server asks for more than we wait. */
  function backoff(error: HubError, retry: number): number | undefined {
    const requested = retryAfterMs(error);
    if (requested !== undefined && requested > maxRetryAfterMs) return undefined;
    return backoffDelay(retryBackoff, retry + 1, requested);
  }

  async function attempt(
    request: ChatRequest,
    progress: { emitted: boolean },
    timeoutMs: number,
  ): Promise<ChatResult> {
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), timeoutMs);
    // The SDK's own timeout stops at the response headers; ours also covers a stalled stream body.
    const signal = request.signal ? AbortSignal.any([request.signal, deadline.signal]) : deadline.signal;
    const model = request.model ?? config.model;
    const body: VllmChatParams = {
      model,
      messages: toOpenAiMessages(request.messages),
      max_tokens: request.maxTokens ?? config.maxTokens,
      temperature: request.temperature ?? config.temperature,
      ...(request.tools?.length ? { tools: toOpenAiTools(request.tools) } : {}),
      ...(request.responseFormat ? { response_format: toOpenAiResponseFormat(request.responseFormat) } : {}),
      chat_template_kwargs: { enable_thinking: config.enableThinking },
    };
    try {
      const onDelta = request.onDelta;
      if (!onDelta) {
        return fromCompletion(
          await (await openai()).chat.completions.create({ ...body, stream: false }, { signal }),
          model,
        );
      }
      const stream = await (await openai()).chat.completions.create(
        { ...body, stream: true, stream_options: { include_usage: true } },
        { signal },
      );
      const assembler = new StreamAssembler();
      const emit = (delta: string) => {
        if (!delta) return;
        progress.emitted = true;
        onDelta(delta);
      };
      for await (const chunk of stream) emit(assembler.add(chunk));
      // The SDK ends an aborted stream quietly; a cut-off answer must not pass for a whole one.
      if (signal.aborted) throw new Error('stream aborted');
      const { delta, result } = assembler.finish(model);
      emit(delta);
      return result;
    } catch (error) {
      throw toLlmError(error, {
        timedOut: deadline.signal.aborted,
        callerAborted: request.signal?.aborted ?? false,
      });
    } finally {
      clearTimeout(timer);
    }
  }

  async function withRetries(request: ChatRequest, route: string, permit: Permit): Promise<ChatResult> {
    const labels = { model: request.model ?? config.model, route };
    // A half-open trial is one short attempt: the customer behind it waits the probe timeout at most.
    const timeoutMs = breaker.trialTimeoutMs(permit, config.timeoutMs);
    const maxRetries = permit === 'trial' ? 0 : config.maxRetries;
    for (let retry = 0; ; retry++) {
      const progress = { emitted: false };
      try {
        return await limited(() => attempt(request, progress, timeoutMs), request.signal).catch(
          (error: unknown) => {
            // Aborted while waiting for a slot: as the request itself would have been.
            throw request.signal?.aborted && error === request.signal.reason ? callerAborted() : error;
          },
        );
      } catch (caught) {
        const error = caught as HubError;
        const wait = backoff(error, retry);
        if (retry >= maxRetries || !retriesInternally(error) || progress.emitted || wait === undefined) {
          throw error;
        }
        llmRequests.inc({ ...labels, outcome: 'retry' });
        log.warn({ code: error.code, retry: retry + 1, waitMs: Math.round(wait) }, 'llm request retried');
        await sleep(wait, request.signal, callerAborted);
      }
    }
  }

  return {
    breaker,
    breakers: new Map([[breakerName, breaker]]),
    available: () => breaker.available(),
    async chat(request, route = 'default') {
      const labels = { model: request.model ?? config.model, route };
      const permit = await breaker.acquire();
      if (!permit) {
        throw new HubError('llm.circuit_open', `LLM circuit breaker ${breakerName} is open; failing fast`, {
          retryable: true,
          status: 503,
        });
      }
      try {
        const result = await withRetries(request, route, permit);
        breaker.recordSuccess();
        llmRequests.inc({ ...labels, outcome: 'ok' });
        return result;
      } catch (caught) {
        const error = toLlmError(caught, {
          timedOut: false,
          callerAborted: request.signal?.aborted ?? false,
        });
        // A 400 proves the server is up; only health failures move the breaker toward open.
        if (isServerFailure(error)) breaker.recordFailure();
        else if (error.code === 'llm.aborted') breaker.release();
        else breaker.recordSuccess();
        // The caller called it off (an answer started before the intent was known): not a failure.
        if (error.code === 'llm.aborted') {
          llmRequests.inc({ ...labels, outcome: 'aborted' });
          throw error;
        }
        llmRequests.inc({ ...labels, outcome: 'error' });
        log.warn({ code: error.code, status: error.status }, 'llm request failed');
        throw error;
      }
    },
  };
}

function callerAborted(): HubError {
  return new HubError('llm.aborted', 'LLM request aborted by the caller', { status: 499 });
}

/**
 * The half-open trial the breaker runs itself. "chat" asks for one token: it proves the model
 * generates, which a hung engine behind a live HTTP front (vLLM still lists its models) does not.
 * "models" is GET /v1/models, for servers where even one token is billed.
 */
function healthCheck(client: () => Promise<OpenAI>, model: string, probe: 'chat' | 'models') {
  return async (signal: AbortSignal): Promise<void> => {
    const openai = await client();
    if (probe === 'models') {
      await openai.models.list({ signal });
      return;
    }
    const body: VllmChatParams = {
      model,
      messages: [{ role: 'user', content: 'ping' }],
      max_tokens: 1,
      chat_template_kwargs: { enable_thinking: false },
    };
    await openai.chat.completions.create({ ...body, stream: false }, { signal });
  };
}
