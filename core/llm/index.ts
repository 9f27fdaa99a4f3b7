export { type BreakerOptions, CircuitBreaker, type CircuitPhase } from './breaker';
export { createLlmClient, type HubLlmClient, type LlmClientOptions, type LlmConfig } from './client';
export { toLlmError } from './errors';
export { stripThink, ThinkStripper } from './think';
export { countMessageTokens, countTokens, warmTokenizer } from './tokenizer';
