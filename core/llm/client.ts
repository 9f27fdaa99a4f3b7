import OpenAI from 'openai';
import type { ChatCompletionCreateParamsBase } from 'openai/resources/chat/completions';
import type { HubConfig } from '../../config/schema';
import { logger } from '../log';
import { llmRequests } from '../metrics';
import { HubError } from '../types/errors';
import type { ChatRequest, ChatResult, LlmClient } from '../types/ports';
import { CircuitBreaker } from './breaker';
import { isServerFailure, retriesInternally, retryAfterMs, toLlmError } from './errors';
import {
  fromCompletion,
  StreamAssembler,
  toOpenAiMessages,
  toOpenAiResponseFormat,
  toOpenAiTools,
} from './openai-mapping';

export type LlmConfig = HubConfig['llm'];

export interface LlmClientOptions {
  /** First backoff step; doubles per retry, with jitter. */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** A server asking us to wait longer than this is not waited for: the turn falls back instead. */
  maxRetryAfterMs?: number;
  breaker?: CircuitBreaker;
}

export interface HubLlmClient extends LlmClient {
  readonly breaker: CircuitBreaker;
}

/** vLLM's extension to the request body: Qwen3's chat template reads `enable_thinking` from here. */
type VllmChatParams = ChatCompletionCreateParamsBase & {
  chat_template_kwargs: { enable_thinking: boolean };
};

const log = logger.child({ component: 'llm' });

export function createLlmClient(config: LlmConfig, options: LlmClientOptions = {}): HubLlmClient {
  const retryBaseMs = options.retryBaseMs ?? 500;
  const retryMaxMs = options.retryMaxMs ?? 8_000;
  const maxRetryAfterMs = options.maxRetryAfterMs ?? 10_000;
  const breaker =
    options.breaker ??
    new CircuitBreaker({
      ...config.breaker,
      name: 'llm',
      onChange: (phase) => log.warn({ phase }, 'llm circuit breaker changed state'),
    });
  // Retries are ours, not the SDK's: each one must be counted, and a stream that already
  // delivered text to the customer must not be replayed.
  const openai = new OpenAI({
    baseURL: config.baseUrl,
    apiKey: config.apiKey,
    maxRetries: 0,
    timeout: config.timeoutMs,
  });

  function backoff(error: HubError, attempt: number): number | undefined {
    const requested = retryAfterMs(error);
    if (requested !== undefined) return requested <= maxRetryAfterMs ? requested : undefined;
    const ceiling = Math.min(retryMaxMs, retryBaseMs * 2 ** attempt);
    return ceiling / 2 + (Math.random() * ceiling) / 2;
  }

  async function attempt(request: ChatRequest, progress: { emitted: boolean }): Promise<ChatResult> {
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), config.timeoutMs);
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
          await openai.chat.completions.create({ ...body, stream: false }, { signal }),
          model,
        );
      }
      const stream = await openai.chat.completions.create(
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

  async function withRetries(request: ChatRequest): Promise<ChatResult> {
    for (let retry = 0; ; retry++) {
      const progress = { emitted: false };
      try {
        return await attempt(request, progress);
      } catch (caught) {
        const error = caught as HubError;
        const wait = backoff(error, retry);
        if (
          retry >= config.maxRetries ||
          !retriesInternally(error) ||
          progress.emitted ||
          wait === undefined
        ) {
          throw error;
        }
        llmRequests.inc({ outcome: 'retry' });
        log.warn({ code: error.code, retry: retry + 1, waitMs: Math.round(wait) }, 'llm request retried');
        await sleep(wait, request.signal);
      }
    }
  }

  return {
    breaker,
    available: () => breaker.available(),
    async chat(request) {
      if (!breaker.tryAcquire()) {
        throw new HubError('llm.circuit_open', 'LLM circuit breaker is open; failing fast', {
          retryable: true,
          status: 503,
        });
      }
      try {
        const result = await withRetries(request);
        breaker.recordSuccess();
        llmRequests.inc({ outcome: 'ok' });
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
        llmRequests.inc({ outcome: 'error' });
        log.warn({ code: error.code, status: error.status }, 'llm request failed');
        throw error;
      }
    },
  };
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const aborted = () => {
      clearTimeout(timer);
      reject(new HubError('llm.aborted', 'LLM request aborted by the caller', { status: 499 }));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', aborted);
      resolve();
    }, ms);
    if (signal?.aborted) aborted();
    else signal?.addEventListener('abort', aborted, { once: true });
  });
}
