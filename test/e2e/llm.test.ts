import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OpenAiEmulator, startOpenAiEmulator } from '../emulators/openai-emulator';
import { ask, type HubProcess, startHubProcess, writeConfig } from './hub-process';

let llm: OpenAiEmulator;
let hub: HubProcess;

beforeAll(async () => {
  llm = await startOpenAiEmulator({ apiKey: 'test-key' });
  hub = await startHubProcess(
    writeConfig({
      database: { dataDir: 'memory://' },
      llm: {
        enabled: true,
        baseUrl: llm.url,
        apiKey: '${TEST_LLM_KEY}',
        timeoutMs: 1500,
        maxRetries: 1,
        breaker: { failureThreshold: 3, resetMs: 60_000 },
      },
    }),
    [],
    { TEST_LLM_KEY: 'test-key' },
  );
});

afterAll(async () => {
  await hub?.stop();
  await llm?.close();
});

const fallbacks = async () => {
  const metrics = await (await fetch(`${hub.url}/metrics`)).text();
  return [...metrics.matchAll(/^hub_llm_fallbacks_total\{reason="(\w+)"\} (\d+)/gm)].reduce(
    (sum, match) => sum + Number(match[2]),
    0,
  );
};

describe('answers through an OpenAI-compatible model server', () => {
  it('generates from retrieved passages, cites them, and sends Qwen3 defaults', async () => {
    const { replies } = await ask(hub.url, 'dan', 'How long does standard shipping take?');
    expect(replies).toHaveLength(1);
    expect(replies[0]?.source).toBe('llm');
    expect(replies[0]?.text).toMatch(/\[1\]/);
    expect(replies[0]?.citations?.length).toBeGreaterThan(0);
    const request = llm.chatRequests().at(-1) as Record<string, unknown> & {
      messages: Array<{ content: string }>;
    };
    expect(request.chat_template_kwargs).toEqual({ enable_thinking: false });
    const prompt = request.messages.map((m) => m.content).join('\n');
    expect(prompt).toMatch(/\[1\]/);
    expect(prompt).toContain('How long does standard shipping take?');
    expect(llm.requests.at(-1)?.headers.authorization).toBe('Bearer test-key');
  });

  it('keeps the conversation history in the prompt', async () => {
    await ask(hub.url, 'erin', 'Do you ship to Hong Kong?');
    await ask(hub.url, 'erin', 'And how much does it cost?');
    const messages = (llm.chatRequests().at(-1) as { messages: Array<{ role: string; content: string }> })
      .messages;
    expect(messages.some((m) => m.role === 'user' && m.content.includes('Hong Kong'))).toBe(true);
  });

  it('falls back to an extractive answer when the model answers 500', async () => {
    const before = await fallbacks();
    llm.fail({ status: 500, times: 2 });
    const { replies } = await ask(hub.url, 'frank', '退款多久到账？');
    expect(replies[0]?.source).toBe('extractive');
    expect(replies[0]?.locale).toBe('zh');
    expect(replies[0]?.citations?.length).toBeGreaterThan(0);
    expect(await fallbacks()).toBe(before + 1);
  });

  it('falls back when the model times out, then uses it again once it recovers', async () => {
    llm.fail({ hang: true, times: 1 });
    const slow = await ask(hub.url, 'gina', 'What payment methods do you accept?');
    expect(slow.replies[0]?.source).toBe('extractive');
    const again = await ask(hub.url, 'gina', 'Can I pay with a credit card?');
    expect(again.replies[0]?.source).toBe('llm');
  });
});
