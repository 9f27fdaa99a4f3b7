import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLlmClient, type LlmConfig } from '../../core/llm';
import { registry } from '../../core/metrics';
import { OrderAccess } from '../../core/orders/access';
import { concurrencyLimit } from '../../core/resilience/concurrency';
import type { ErpAdapter } from '../../core/types';
import { HubError } from '../../core/types/errors';
import { type OpenAiEmulator, startOpenAiEmulator } from '../emulators/openai-emulator';

const tick = (ms = 20) => new Promise((resolve) => setTimeout(resolve, ms));

/** A call that runs until the test lets it go, and says when it started. */
function gate() {
  const started: string[] = [];
  const releases = new Map<string, () => void>();
  const call = (name: string) => () =>
    new Promise<string>((resolve) => {
      started.push(name);
      releases.set(name, () => resolve(name));
    });
  return { started, call, release: (name: string) => releases.get(name)?.() };
}

async function gaugeValue(name: string, dependency: string): Promise<number | undefined> {
  const metric = await registry.getSingleMetric(name)?.get();
  return metric?.values.find((v) => v.labels.dependency === dependency)?.value;
}

describe('concurrency limit per dependency', () => {
  it('runs N calls at once; the (N+1)-th waits until one ends', async () => {
    const limited = concurrencyLimit(2, 'test-dep');
    const { started, call, release } = gate();
    const results = ['a', 'b', 'c'].map((name) => limited(call(name)));
    await tick();
    expect(started).toEqual(['a', 'b']);
    expect(await gaugeValue('hub_dependency_waiting', 'test-dep')).toBe(1);
    expect(await gaugeValue('hub_dependency_in_flight', 'test-dep')).toBe(2);
    release('b');
    await tick();
    expect(started).toEqual(['a', 'b', 'c']);
    release('a');
    release('c');
    expect(await Promise.all(results)).toEqual(['a', 'b', 'c']);
  });

  it('lets a caller that gives up leave the line without taking a slot', async () => {
    const limited = concurrencyLimit(1, 'test-abort');
    const { started, call, release } = gate();
    const first = limited(call('first'));
    const abort = new AbortController();
    const second = limited(call('second'), abort.signal);
    const third = limited(call('third'));
    await tick();
    abort.abort(new Error('customer left'));
    await expect(second).rejects.toThrow('customer left');
    release('first');
    await tick();
    // The aborted call never ran: the slot went straight to the third.
    expect(started).toEqual(['first', 'third']);
    release('third');
    await Promise.all([first, third]);
  });

  it('without a maximum, sets no limit', async () => {
    const limited = concurrencyLimit(undefined, 'test-none');
    const { started, call, release } = gate();
    const all = ['a', 'b', 'c', 'd'].map((name) => limited(call(name)));
    await tick();
    expect(started).toHaveLength(4);
    for (const name of ['a', 'b', 'c', 'd']) release(name);
    await Promise.all(all);
  });
});

describe('llm.maxConcurrency', () => {
  let emulator: OpenAiEmulator;
  beforeAll(async () => {
    emulator = await startOpenAiEmulator();
  });
  afterAll(() => emulator.close());
  beforeEach(() => emulator.reset());

  const config = (overrides: Partial<LlmConfig>): LlmConfig => ({
    enabled: true,
    baseUrl: emulator.url,
    model: 'Qwen/Qwen3-14B',
    apiKey: 'test-key',
    timeoutMs: 5_000,
    maxRetries: 0,
    maxTokens: 64,
    temperature: 0.3,
    enableThinking: false,
    breaker: { failureThreshold: 5, resetMs: 30_000 },
    ...overrides,
  });
  const question = [{ role: 'user' as const, content: 'Where is my parcel?' }];

  it('sends the endpoint N requests at once; the (N+1)-th reaches it only when one is answered', async () => {
    emulator.setLatency({ requestMs: 400 });
    const client = createLlmClient(config({ maxConcurrency: 2 }));
    const answers = await Promise.all([1, 2, 3].map(() => client.chat({ messages: question })));
    expect(answers).toHaveLength(3);
    const [first, second, third] = emulator.requests.map((request) => request.at);
    expect(Math.abs((second as number) - (first as number))).toBeLessThan(200);
    // Its wait in line is not the model being slow: it got its own full timeout and an answer.
    expect((third as number) - (first as number)).toBeGreaterThanOrEqual(350);
  });

  it('applies per endpoint of llm.models (llm.models[].maxConcurrency)', async () => {
    emulator.setLatency({ requestMs: 300 });
    const client = createLlmClient(
      config({
        models: [{ name: 'main', model: 'Qwen/Qwen3-14B', role: 'main', maxConcurrency: 1 }],
      }),
    );
    await Promise.all([1, 2].map(() => client.chat({ messages: question })));
    const [first, second] = emulator.requests.map((request) => request.at);
    expect((second as number) - (first as number)).toBeGreaterThanOrEqual(250);
  });

  it('a request aborted while it waits for a slot fails as aborted, not as a server error', async () => {
    emulator.setLatency({ requestMs: 300 });
    const client = createLlmClient(config({ maxConcurrency: 1 }));
    const first = client.chat({ messages: question });
    const abort = new AbortController();
    const waiting = client.chat({ messages: question, signal: abort.signal }).catch((e: unknown) => e);
    await tick(50);
    abort.abort();
    const error = (await waiting) as HubError;
    expect(error).toBeInstanceOf(HubError);
    expect(error.code).toBe('llm.aborted');
    expect(client.breaker.state()).toBe('closed');
    await first;
    expect(emulator.requests).toHaveLength(1);
  });
});

describe('erp.maxConcurrency', () => {
  it('lets N order look-ups reach the ERP at once; the (N+1)-th waits', async () => {
    const answers = new Map<string, () => void>();
    const erp = {
      name: 'slow',
      getOrder: (orderId: string) =>
        new Promise((resolve) => {
          answers.set(orderId, () => resolve(undefined));
        }),
    } as unknown as ErpAdapter;
    const access = new OrderAccess(erp, 5_000, undefined, undefined, 2);
    const lookups = ['A-1', 'A-2', 'A-3'].map((id) => access.fetch(id, 'acme'));
    await tick();
    expect([...answers.keys()]).toEqual(['A-1', 'A-2']);
    answers.get('A-1')?.();
    await tick();
    expect([...answers.keys()]).toEqual(['A-1', 'A-2', 'A-3']);
    answers.get('A-2')?.();
    answers.get('A-3')?.();
    expect(await Promise.all(lookups)).toEqual([undefined, undefined, undefined]);
  });
});
