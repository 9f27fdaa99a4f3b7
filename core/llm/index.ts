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
export { countMessageTokens, countTokens, warmTokenizer } from './tokenizer';
