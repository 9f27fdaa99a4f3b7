import type { z } from 'zod';
import { llmRoutingSchema } from '../config/schema';
import { logger } from '../log';
import { llmVersionErrors, llmVersionFallbacks, llmVersionLatency } from '../metrics';
import type { CircuitBreaker } from '../resilience/breaker';
import type { ChatMessage, ChatRequest, ChatResult, RouteHint } from '../types';
import { HubError } from '../types/errors';
import { type CanaryControl, createCanaryControl } from './canary';
import type { EndpointClient, HubLlmClient, LlmClientOptions, LlmConfig } from './types';

type ModelEntry = NonNullable<LlmConfig['models']>[number];
type Routing = z.output<typeof llmRoutingSchema>;

/** Why an endpoint was tried; the `route` label of `hub_llm_requests_total`. */
export type RouteLabel = 'light' | 'main' | 'lora' | 'pinned' | 'fallback' | 'canary';

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
  /** The canary split and rollback this router routes by. */
  readonly canary: CanaryControl;
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
 *
 * A canary entry (`canary: { of, share }`) takes its share of the conversations of the entry it is
 * the canary of (core/llm/canary.ts), with that stable entry as its first fallback, so a failing
 * canary costs the customer nothing but the failed attempt.
 */
export function createLlmRouter(
  config: LlmConfig,
  options: LlmClientOptions,
  createEndpoint: EndpointFactory,
): LlmRouter {
  const allModels = config.models ?? [];
  // Canaries are reached only through the split, never chosen by role or as a fallback.
  const models = allModels.filter((m) => !m.canary);
  const canary = options.canary ?? createCanaryControl(config);
  const firstMain = models.find((m) => m.role === 'main');
  if (!firstMain) {
    throw new HubError(
      'config.invalid',
      'llm.models has no entry with role: main; mark the model that answers customers role: main',
    );
  }
  const main: ModelEntry = firstMain;
  const routing = config.routing ?? llmRoutingSchema.parse({});
  const byName = new Map(allModels.map((m) => [m.name, m]));
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
    allModels.map((m) => [
      m.name,
      createEndpoint(
        {
          ...config,
          baseUrl: m.baseUrl ?? config.baseUrl,
          apiKey: m.apiKey ?? config.apiKey,
          model: m.model,
          maxConcurrency: m.maxConcurrency ?? config.maxConcurrency,
          models: undefined,
        },
        { ...options, breaker: undefined, canary: undefined, endpoint: m.name },
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
    const canaryName =
      route === 'pinned' ? undefined : canary.canaryFor(first.name, request.route?.conversation);
    const split = canaryName === undefined ? undefined : byName.get(canaryName);
    if (split) {
      return [
        { endpoint: split.name, model: served(split), route: 'canary' },
        { endpoint: first.name, model: served(first), route: 'fallback' },
        ...rest.map(
          (entry): RoutedAttempt => ({ endpoint: entry.name, model: served(entry), route: 'fallback' }),
        ),
      ];
    }
    return [
      { endpoint: first.name, model: served(first), route },
      ...rest.map(
        (entry): RoutedAttempt => ({ endpoint: entry.name, model: served(entry), route: 'fallback' }),
      ),
    ];
  }

  return {
    plan,
    canary,
    breaker: endpointOf(main).breaker,
    breakers,
    available: () => [...endpoints.values()].some((client) => client.available()),
    async chat(request: ChatRequest): Promise<ChatResult> {
      await canary.refresh();
      const attempts = plan(request);
      let streamed = false;
      const caller = request.onDelta;
      const onDelta = caller
        ? (delta: string) => {
            streamed = true;
            caller(delta);
          }
        : undefined;
      // How the first endpoint fared: what the canary's rollback window counts.
      const first = { error: false, fallback: false, callerAborted: false };
      let lastError: unknown;
      try {
        for (const [index, attempt] of attempts.entries()) {
          const client = endpoints.get(attempt.endpoint) as EndpointClient;
          const release = canary.releaseOf(attempt.endpoint);
          const timer = llmVersionLatency.startTimer(release);
          try {
            const result = await client.chat({ ...request, model: attempt.model, onDelta }, attempt.route);
            timer({ outcome: 'ok' });
            return { ...result, release };
          } catch (error) {
            timer({ outcome: 'error' });
            lastError = error;
            const code = error instanceof HubError ? error.code : 'llm.error';
            const callerAborted = request.signal?.aborted === true || code === 'llm.aborted';
            if (index === 0) Object.assign(first, { error: !callerAborted, callerAborted });
            if (!callerAborted) llmVersionErrors.inc({ ...release, code });
            if (streamed || callerAborted || !triesNextEndpoint(error)) throw error;
            const next = attempts[index + 1];
            if (next) {
              llmVersionFallbacks.inc(release);
              if (index === 0) first.fallback = true;
              log.warn(
                { from: attempt.endpoint, to: next.endpoint, code: error.code, version: release.version },
                'llm endpoint failed; trying the next one in the fallback order',
              );
            }
          }
        }
        throw lastError;
      } finally {
        const [chosen] = attempts;
        if (chosen && !first.callerAborted) {
          await canary.record(chosen.endpoint, { error: first.error, fallback: first.fallback });
        }
      }
    },
  };
}
