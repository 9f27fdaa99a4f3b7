import type { z } from 'zod';
import { llmRoutingSchema } from '../config/schema';
import { logger } from '../log';
import type { CircuitBreaker } from '../resilience/breaker';
import type { ChatMessage, ChatRequest, ChatResult, RouteHint } from '../types';
import { HubError } from '../types/errors';
import type { EndpointClient, HubLlmClient, LlmClientOptions, LlmConfig } from './types';

type ModelEntry = NonNullable<LlmConfig['models']>[number];
type Routing = z.output<typeof llmRoutingSchema>;

/** Why an endpoint was tried; the `route` label of `hub_llm_requests_total`. */
export type RouteLabel = 'light' | 'main' | 'lora' | 'pinned' | 'fallback';

export interface RoutedAttempt {
  /** `llm.models[].name` */
  endpoint: string;
  /** The model name sent: the entry's `model`, or the tenant's LoRA adapter on a main endpoint. */
  model: string;
  route: RouteLabel;
}

export interface LlmRouter extends HubLlmClient {
  /** The endpoints a request would try, in order, and the model each would be sent. */
  plan(request: ChatRequest): RoutedAttempt[];
}

export type EndpointFactory = (config: LlmConfig, options: LlmClientOptions) => EndpointClient;

const log = logger.child({ component: 'llm-router' });

/**
 * Light model or main model, per request, from its routing hint. No hint: main, because the
 * caller did not say the request is simple. With a hint, light when any rule says so: a
 * classify/rewrite task, a confident intent the light model is trusted with, or a short question.
 */
export function chooseRole(
  hint: RouteHint | undefined,
  routing: Routing,
  messages: ChatMessage[],
): ModelEntry['role'] {
  if (!hint) return 'main';
  if (hint.task === 'classify' || hint.task === 'rewrite') return 'light';
  if (
    hint.intent !== undefined &&
    routing.lightIntents.includes(hint.intent) &&
    (hint.confidence ?? 0) >= routing.minIntentConfidence
  ) {
    return 'light';
  }
  if (routing.lightMaxChars > 0) {
    const question = hint.question ?? messages.findLast((m) => m.role === 'user')?.content ?? '';
    // Code points, so a Chinese question is not counted three times over.
    if ([...question.trim()].length <= routing.lightMaxChars) return 'light';
  }
  return 'main';
}

/** Errors that say something about one endpoint, not about the request: another endpoint may serve it. */
function triesNextEndpoint(error: unknown): error is HubError {
  return error instanceof HubError && (error.retryable || error.code === 'llm.unauthorized');
}

/**
 * An LlmClient over several OpenAI-compatible endpoints (`llm.models`), each with its own retries
 * and circuit breaker `llm:<name>`. It picks the light or main model per request, puts a tenant's
 * LoRA adapter name on main endpoints, and when the chosen endpoint fails with an error another
 * endpoint could avoid (unreachable, 5xx, 429, timeout, open circuit, refused key) tries the next
 * one in `llm.fallback` order, each endpoint at most once per request. A streamed answer that has
 * already reached the caller is never restarted elsewhere.
 */
export function createLlmRouter(
  config: LlmConfig,
  options: LlmClientOptions,
  createEndpoint: EndpointFactory,
): LlmRouter {
  const models = config.models ?? [];
  const firstMain = models.find((m) => m.role === 'main');
  if (!firstMain) {
    throw new HubError(
      'config.invalid',
      'llm.models has no entry with role: main; mark the model that answers customers role: main',
    );
  }
  const main: ModelEntry = firstMain;
  const routing = config.routing ?? llmRoutingSchema.parse({});
  const byName = new Map(models.map((m) => [m.name, m]));
  const fallbackOrder = (config.fallback ?? models.map((m) => m.name)).map((name) => {
    const entry = byName.get(name);
    if (!entry) {
      throw new HubError(
        'config.invalid',
        `llm.fallback names "${name}", which is not in llm.models; use one of ${[...byName.keys()].join(', ')}`,
      );
    }
    return entry;
  });
  const endpoints = new Map(
    models.map((m) => [
      m.name,
      createEndpoint(
        {
          ...config,
          baseUrl: m.baseUrl ?? config.baseUrl,
          apiKey: m.apiKey ?? config.apiKey,
          model: m.model,
          models: undefined,
        },
        { ...options, breaker: undefined, endpoint: m.name },
      ),
    ]),
  );
  const endpointOf = (entry: ModelEntry) => endpoints.get(entry.name) as EndpointClient;
  const breakers = new Map<string, CircuitBreaker>(
    [...endpoints.values()].flatMap((client) => [...client.breakers]),
  );

  function plan(request: ChatRequest): RoutedAttempt[] {
    let first: ModelEntry;
    let route: RouteLabel;
    if (request.model !== undefined) {
      const pinned = byName.get(request.model);
      if (!pinned) {
        throw new HubError(
          'llm.bad_request',
          `ChatRequest.model "${request.model}" is not a name in llm.models (${[...byName.keys()].join(', ')}); name one of them or leave model unset to let the router choose`,
          { status: 500 },
        );
      }
      first = pinned;
      route = 'pinned';
    } else {
      const role = chooseRole(request.route, routing, request.messages);
      first = models.find((m) => m.role === role) ?? main;
      route = first.role;
    }
    const tenant = request.route?.tenant;
    const lora = tenant === undefined ? undefined : routing.tenants[tenant]?.lora;
    const served = (entry: ModelEntry) => (entry.role === 'main' && lora ? lora : entry.model);
    if (route === 'main' && lora) route = 'lora';
    const rest = fallbackOrder.filter(
      (entry, index) => entry !== first && fallbackOrder.indexOf(entry) === index,
    );
    return [
      { endpoint: first.name, model: served(first), route },
      ...rest.map(
        (entry): RoutedAttempt => ({ endpoint: entry.name, model: served(entry), route: 'fallback' }),
      ),
    ];
  }

  return {
    plan,
    breaker: endpointOf(main).breaker,
    breakers,
    available: () => [...endpoints.values()].some((client) => client.available()),
    async chat(request: ChatRequest): Promise<ChatResult> {
      const attempts = plan(request);
      let streamed = false;
      const caller = request.onDelta;
      const onDelta = caller
        ? (delta: string) => {
            streamed = true;
            caller(delta);
          }
        : undefined;
      let lastError: unknown;
      for (const [index, attempt] of attempts.entries()) {
        const client = endpoints.get(attempt.endpoint) as EndpointClient;
        try {
          return await client.chat({ ...request, model: attempt.model, onDelta }, attempt.route);
        } catch (error) {
          lastError = error;
          if (streamed || request.signal?.aborted || !triesNextEndpoint(error)) throw error;
          const next = attempts[index + 1];
          if (next) {
            log.warn(
              { from: attempt.endpoint, to: next.endpoint, code: error.code },
              'llm endpoint failed; trying the next one in the fallback order',
            );
          }
        }
      }
      throw lastError;
    },
  };
}
