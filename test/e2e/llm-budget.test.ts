import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OpenAiEmulator, startOpenAiEmulator } from '../emulators/openai-emulator';
import { ask, type HubProcess, startHubProcess, writeConfig } from './hub-process';

/** security.rateLimits.llm: over a conversation's model budget the turn answers without the model. */
let llm: OpenAiEmulator;
let hub: HubProcess;

beforeAll(async () => {
  llm = await startOpenAiEmulator({ apiKey: 'test-key' });
  hub = await startHubProcess(
    writeConfig({
      database: { dataDir: 'memory://' },
      llm: { enabled: true, baseUrl: llm.url, apiKey: 'test-key', timeoutMs: 3000, maxRetries: 1 },
      security: { rateLimits: { llm: { perConversation: { max: 2, windowSeconds: 60 } } } },
    }),
  );
});

afterAll(async () => {
  await hub?.stop();
  await llm?.close();
});

describe('LLM budget per conversation', () => {
  it('answers extractively once the budget is spent, without calling the model; others keep the model', async () => {
    const sources: Array<string | undefined> = [];
    const before = llm.chatRequests().length;
    for (const question of [
      'How long does standard shipping take?',
      'Can I get an invoice?',
      'Which payment methods do you accept?',
      'How do I return an item?',
    ]) {
      const { status, replies } = await ask(hub.url, 'frank', question);
      expect(status).toBe(200);
      sources.push(replies[0]?.source);
    }
    const modelCalls = llm.chatRequests().length - before;
    const other = await ask(hub.url, 'grace', 'How long does standard shipping take?');
    const metrics = await (await fetch(`${hub.url}/metrics`)).text();
    console.log('LLM budget', JSON.stringify({ sources, modelCalls, other: other.replies[0]?.source }));
    expect(sources[0]).toBe('llm');
    expect(sources.at(-1)).toBe('extractive');
    expect(modelCalls).toBeLessThanOrEqual(2);
    expect(other.replies[0]?.source).toBe('llm');
    expect(metrics).toMatch(/hub_llm_fallbacks_total\{reason="budget"\} [1-9]/);
    expect(metrics).toMatch(/hub_rate_limited_total\{scope="llm.conversation",route="llm"\} [1-9]/);
  }, 30_000);
});
