import type { BreakerConfig } from '../config/adapters-schema';
import type { HubConfig } from '../config/schema';
import type { PiiConfig } from '../privacy/schema';
import type { CircuitBreaker } from '../resilience/breaker';
import type { ChatRequest, ChatResult, LlmClient } from '../types';
import type { CanaryControl } from './canary';

/** `llm:` of hub.yaml; breaker keys beyond the first two may be left out (no health check then). */
export type LlmConfig = Omit<HubConfig['llm'], 'breaker'> & {
  breaker: BreakerConfig & { probe?: HubConfig['llm']['breaker']['probe'] };
};

export interface LlmClientOptions {
  /** First backoff step; doubles per retry, with jitter. */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** A server asking us to wait longer than this is not waited for: the turn falls back instead. */
  maxRetryAfterMs?: number;
  breaker?: CircuitBreaker;
  /** Endpoint name in logs (a router's `llm.models[].name`). */
  endpoint?: string;
  /**
   * A router's canary split and rollback state; the hub passes one it shares with the admin route.
   * Default: a fresh one kept in this process.
   */
  canary?: CanaryControl;
  /**
   * What `createLlmClient` masks before a request leaves (`privacy.pii`, core/privacy). Default:
   * every built-in kind. Endpoint clients made directly do not mask.
   */
  privacy?: PiiConfig;
}

export interface HubLlmClient extends LlmClient {
  /** The circuit breaker of the only endpoint; a router's is that of its first main endpoint. */
  readonly breaker: CircuitBreaker;
  /** Every endpoint's breaker by its name ("llm" for the single endpoint, "llm:<name>" for a router's). */
  readonly breakers: ReadonlyMap<string, CircuitBreaker>;
}

/** One endpoint; `route` labels its `hub_llm_requests_total` series. */
export interface EndpointClient extends HubLlmClient {
  chat(request: ChatRequest, route?: string): Promise<ChatResult>;
}
