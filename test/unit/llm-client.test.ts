import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLlmClient, type LlmClientOptions, type LlmConfig } from '../../core/llm';
import { circuitState, llmRequests } from '../../core/metrics';
import type { ChatMessage, ToolDefinition } from '../../core/types';
import { HubError } from '../../core/types/errors';
import { type OpenAiEmulator, startOpenAiEmulator } from '../emulators/openai-emulator';

let emulator: OpenAiEmulator;

beforeAll(async () => {
  emulator = await startOpenAiEmulator();
});
afterAll(() => emulator.close());
beforeEach(() => emulator.reset());

function configFor(overrides: Partial<LlmConfig> = {}): LlmConfig {
  return {
    enabled: true,
    baseUrl: emulator.url,
    model: 'Qwen/Qwen3-14B',
    apiKey: 'test-key',
    timeoutMs: 2_000,
    maxRetries: 2,
    maxTokens: 256,
    temperature: 0.3,
    enableThinking: false,
    breaker: { failureThreshold: 5, resetMs: 30_000 },
    ...overrides,
  };
}

const fastRetries: LlmClientOptions = { retryBaseMs: 5, retryMaxMs: 20 };
const client = (overrides: Partial<LlmConfig> = {}) => createLlmClient(configFor(overrides), fastRetries);
const ask = (text: string): ChatMessage[] => [
  { role: 'system', content: 'You are a helpful customer-service assistant.' },
  { role: 'user', content: text },
];

async function caught(promise: Promise<unknown>): Promise<HubError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(HubError);
  return error as HubError;
}

async function counted(outcome: string): Promise<number> {
  return (await llmRequests.get()).values.find((v) => v.labels.outcome === outcome)?.value ?? 0;
}

const lookupOrder: ToolDefinition = {
  name: 'lookup_order',
  description: 'Find an order by its number',
  parameters: { type: 'object', properties: { orderId: { type: 'string' } }, required: ['orderId'] },
};

describe('LLM client against the OpenAI emulator', () => {
  it('answers without streaming and sends the Qwen3 defaults', async () => {
    const result = await client().chat({ messages: ask('Where is my parcel?') });
    expect(result).toMatchObject({ text: 'Echo: Where is my parcel?', finishReason: 'stop', toolCalls: [] });
    expect(result.model).toBe('Qwen/Qwen3-14B');
    expect(result.usage?.completionTokens).toBeGreaterThan(0);
    const [body] = emulator.chatRequests();
    expect(body?.chat_template_kwargs).toEqual({ enable_thinking: false });
    expect(body).toMatchObject({ max_tokens: 256, temperature: 0.3, stream: false });
    expect(emulator.requests[0]?.headers.authorization).toBe('Bearer test-key');
  });

  it('sends enable_thinking true only when configured, and per-request overrides', async () => {
    await client({ enableThinking: true }).chat({ messages: ask('hi'), maxTokens: 32, temperature: 0 });
    expect(emulator.chatRequests()[0]).toMatchObject({
      chat_template_kwargs: { enable_thinking: true },
      max_tokens: 32,
      temperature: 0,
    });
  });

  it('streams deltas and assembles the same text', async () => {
    const deltas: string[] = [];
    const prompt =
      'Passages:\n[1] Refunds are issued within 14 days of receiving the return. Shipping is free.';
    const result = await client().chat({ messages: ask(prompt), onDelta: (d) => deltas.push(d) });
    expect(deltas.length).toBeGreaterThan(2);
    expect(deltas.join('')).toBe(result.text);
    expect(result.text).toBe('Refunds are issued within 14 days of receiving the return. [1]');
    expect(result.usage?.promptTokens).toBeGreaterThan(0);
    expect(emulator.chatRequests()[0]).toMatchObject({
      stream: true,
      stream_options: { include_usage: true },
    });
  });

  it.each([false, true])('round-trips a tool call (stream: %s)', async (stream) => {
    const llm = client();
    emulator.script({
      toolCalls: [{ id: 'call_1', name: 'lookup_order', arguments: { orderId: 'A-1001' } }],
    });
    const onDelta = stream ? () => {} : undefined;
    const messages = ask('Where is order A-1001?');
    const first = await llm.chat({ messages, tools: [lookupOrder], onDelta });
    expect(first.finishReason).toBe('tool_calls');
    expect(first.toolCalls).toEqual([
      { id: 'call_1', name: 'lookup_order', arguments: '{"orderId":"A-1001"}' },
    ]);
    expect(emulator.chatRequests()[0]?.tools).toEqual([
      {
        type: 'function',
        function: {
          name: 'lookup_order',
          description: lookupOrder.description,
          parameters: lookupOrder.parameters,
        },
      },
    ]);

    const followUp: ChatMessage[] = [
      ...messages,
      { role: 'assistant', content: '', toolCalls: first.toolCalls },
      { role: 'tool', toolCallId: 'call_1', content: '{"status":"shipped"}' },
    ];
    const second = await llm.chat({ messages: followUp, tools: [lookupOrder], onDelta });
    expect(second.text).toBe('Tool result: {"status":"shipped"}');
    const sent = emulator.chatRequests()[1]?.messages ?? [];
    expect(sent[2]).toMatchObject({ role: 'assistant', content: null, tool_calls: [{ id: 'call_1' }] });
    expect(sent[3]).toEqual({ role: 'tool', content: '{"status":"shipped"}', tool_call_id: 'call_1' });
  });

  it('strips think blocks, streamed or not, even split across chunks', async () => {
    emulator.script('<think>The customer wants a refund.</think>\n\nYour refund is on its way.');
    expect((await client().chat({ messages: ask('refund?') })).text).toBe('Your refund is on its way.');

    emulator.script({ chunks: ['<thi', 'nk>secret plan', '</th', 'ink>\n\nHel', 'lo <', 'b>there'] });
    const deltas: string[] = [];
    const result = await client().chat({ messages: ask('hi'), onDelta: (d) => deltas.push(d) });
    expect(result.text).toBe('Hello <b>there');
    expect(deltas.join('')).toBe('Hello <b>there');
    expect(deltas.some((d) => d.includes('secret'))).toBe(false);
  });

  it('retries a 500 and counts the retry', async () => {
    const retriesBefore = await counted('retry');
    emulator.fail({ status: 500 });
    const result = await client().chat({ messages: ask('hello') });
    expect(result.text).toBe('Echo: hello');
    expect(emulator.chatRequests()).toHaveLength(2);
    expect(await counted('retry')).toBe(retriesBefore + 1);
  });

  it('retries a stream that failed before sending any text', async () => {
    emulator.fail({ status: 503, times: 2 });
    const deltas: string[] = [];
    const result = await client().chat({ messages: ask('hello'), onDelta: (d) => deltas.push(d) });
    expect(deltas.join('')).toBe(result.text);
    expect(emulator.chatRequests()).toHaveLength(3);
  });

  it('waits as long as Retry-After asks on a 429', async () => {
    emulator.fail({ status: 429, retryAfter: 1 });
    const started = performance.now();
    await client().chat({ messages: ask('hello') });
    expect(performance.now() - started).toBeGreaterThanOrEqual(990);
    expect(emulator.chatRequests()).toHaveLength(2);
  });

  it('gives up when Retry-After is longer than it will wait', async () => {
    emulator.fail({ status: 429, retryAfter: 120 });
    const error = await caught(client().chat({ messages: ask('hello') }));
    expect(error).toMatchObject({ code: 'llm.rate_limited', retryable: true });
    expect(emulator.chatRequests()).toHaveLength(1);
  });

  it('fails with llm.unavailable after maxRetries', async () => {
    emulator.fail({ status: 502, times: 10 });
    const error = await caught(client({ maxRetries: 2 }).chat({ messages: ask('hello') }));
    expect(error).toMatchObject({ code: 'llm.unavailable', retryable: true, status: 503 });
    expect(emulator.chatRequests()).toHaveLength(3);
  });

  it('does not retry 400 or 401', async () => {
    emulator.fail({ status: 400, message: 'max_tokens is too large' });
    expect(await caught(client().chat({ messages: ask('a') }))).toMatchObject({
      code: 'llm.bad_request',
      retryable: false,
    });
    emulator.fail({ status: 401 });
    expect(await caught(client().chat({ messages: ask('a') }))).toMatchObject({
      code: 'llm.unauthorized',
      retryable: false,
    });
    expect(emulator.chatRequests()).toHaveLength(2);
  });

  it('raises llm.timeout on a hung request and on a stalled stream', async () => {
    emulator.fail({ hang: true });
    const started = performance.now();
    const error = await caught(client({ timeoutMs: 300 }).chat({ messages: ask('hello') }));
    expect(error).toMatchObject({ code: 'llm.timeout', retryable: true });
    expect(performance.now() - started).toBeLessThan(1_500);

    emulator.fail({ hang: true, afterChunks: 3 });
    const deltas: string[] = [];
    const stalled = client({ timeoutMs: 300 }).chat({
      messages: ask('one two three four'),
      onDelta: (d) => deltas.push(d),
    });
    expect(await caught(stalled)).toMatchObject({ code: 'llm.timeout' });
    expect(deltas.length).toBeGreaterThan(0);
    expect(emulator.chatRequests()).toHaveLength(2);
  });

  it('reports a caller abort as llm.aborted without blaming the server', async () => {
    const llm = client({ breaker: { failureThreshold: 1, resetMs: 30_000 } });
    emulator.fail({ hang: true });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const error = await caught(llm.chat({ messages: ask('hello'), signal: controller.signal }));
    expect(error).toMatchObject({ code: 'llm.aborted', retryable: false });
    expect(llm.available()).toBe(true);
  });

  it('maps an unreachable server to llm.unavailable', async () => {
    const dead = await startOpenAiEmulator();
    const url = dead.url;
    await dead.close();
    const llm = createLlmClient(configFor({ baseUrl: url, maxRetries: 1 }), fastRetries);
    expect(await caught(llm.chat({ messages: ask('hello') }))).toMatchObject({ code: 'llm.unavailable' });
  });
});

describe('LLM circuit breaker', () => {
  const breaker = { failureThreshold: 3, resetMs: 300 };

  it('opens after N failures, fails fast, then recovers through one half-open trial', async () => {
    const llm = client({ maxRetries: 0, breaker });
    emulator.fail({ status: 500, times: 3 });
    for (let i = 0; i < 3; i++) await caught(llm.chat({ messages: ask('hello') }));
    expect(llm.available()).toBe(false);
    expect((await circuitState.get()).values[0]?.value).toBe(1);

    const fast = await caught(llm.chat({ messages: ask('hello') }));
    expect(fast).toMatchObject({ code: 'llm.circuit_open', retryable: true });
    expect(emulator.chatRequests()).toHaveLength(3);

    await new Promise((done) => setTimeout(done, breaker.resetMs + 20));
    expect(llm.breaker.state()).toBe('half-open');
    expect(llm.available()).toBe(true);
    emulator.setLatency({ requestMs: 100 });
    const trial = llm.chat({ messages: ask('trial') });
    // While the one trial is in flight, everyone else still fails fast.
    expect(llm.available()).toBe(false);
    expect(await caught(llm.chat({ messages: ask('other') }))).toMatchObject({ code: 'llm.circuit_open' });
    expect((await trial).text).toBe('Echo: trial');
    expect(llm.breaker.state()).toBe('closed');
    expect((await circuitState.get()).values[0]?.value).toBe(0);
  });

  it('re-opens when the half-open trial fails', async () => {
    const llm = client({ maxRetries: 0, breaker });
    emulator.fail({ status: 500, times: 4 });
    for (let i = 0; i < 3; i++) await caught(llm.chat({ messages: ask('hello') }));
    await new Promise((done) => setTimeout(done, breaker.resetMs + 20));
    expect(await caught(llm.chat({ messages: ask('trial') }))).toMatchObject({ code: 'llm.unavailable' });
    expect(llm.breaker.state()).toBe('open');
    expect(llm.available()).toBe(false);
  });

  it('does not count bad requests toward opening', async () => {
    const llm = client({ maxRetries: 0, breaker });
    emulator.fail({ status: 400, times: 5 });
    for (let i = 0; i < 5; i++) await caught(llm.chat({ messages: ask('hello') }));
    expect(llm.available()).toBe(true);
  });
});
