import type OpenAI from 'openai';
import type { ClientOptions } from 'openai';

let sdk: Promise<typeof OpenAI> | undefined;

/**
 * An OpenAI SDK client, built on its first use: the `openai` package is about 240 modules and
 * 0.2–0.3 s of start-up, which a hub whose LLM is off (and whose embedder is not an
 * OpenAI-compatible server) never needs. Its error classes come from `openai/error` (3 modules).
 */
export function lazyOpenAi(options: ClientOptions): () => Promise<OpenAI> {
  let client: Promise<OpenAI> | undefined;
  return () => {
    sdk ??= import('openai').then((module) => module.default);
    client ??= sdk.then((OpenAiClient) => new OpenAiClient(options));
    return client;
  };
}
