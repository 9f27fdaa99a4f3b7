export { budgetedLlm, LLM_BUDGET_EXCEEDED } from './budget';
export {
  type CanaryControl,
  type CanaryStore,
  createCanaryControl,
  type ModelStatus,
  type ModelsStatus,
  type RollbackRecord,
  splitPoint,
  type VersionStatus,
  type WindowCounts,
} from './canary';
export { createCanaryStore, MemoryCanaryStore, RedisCanaryStore } from './canary-store';
export {
  createEndpointClient,
  createLlmClient,
  type EndpointClient,
  type HubLlmClient,
  type LlmClientOptions,
  type LlmConfig,
} from './client';
export { toLlmError } from './errors';
export { chooseRole, createLlmRouter, type LlmRouter, type RoutedAttempt, type RouteLabel } from './router';
export { stripThink, ThinkStripper } from './think';
export {
  countMessageTokens,
  countTokens,
  releaseTokenizer,
  tokenizerLoaded,
  warmTokenizer,
} from './tokenizer';
