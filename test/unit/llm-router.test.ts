import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { hubConfigSchema } from '../../core/config/schema';
import { createLlmClient, type LlmConfig, type LlmRouter } from '../../core/llm';
import { circuitState, llmRequests } from '../../core/metrics';
import type { ChatMessage, ChatRequest } from '../../core/types';
import { HubError } from '../../core/types/errors';
import { type OpenAiEmulator, startOpenAiEmulator } from '../emulators/openai-emulator';

const LIGHT_MODEL = 'Qwen/Qwen3-1.7B';
const MAIN_MODEL = 'Qwen/Qwen3-14B';

let light: OpenAiEmulator;
let main: OpenAiEmulator;
let backup: OpenAiEmulator;
/** A port nothing listens on: connection refused. */
let deadUrl: string;

beforeAll(async () => {
  [light, main, backup] = await Promise.all([
    startOpenAiEmulator({ model: LIGHT_MODEL, apiKey: 'light-key' }),
    startOpenAiEmulator({ model: MAIN_MODEL, apiKey: 'main-key' }),
    startOpenAiEmulator({ model: MAIN_MODEL, apiKey: 'main-key' }),
  ]);
  const closed = createServer();
  await new Promise<void>((ready) => closed.listen(0, '127.0.0.1', ready));
  deadUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/v1`;
  await new Promise((done) => closed.close(done));
});
afterAll(() => Promise.all([light.close(), main.close(), backup.close()]));
beforeEach(() => {
  for (const emulator of [light, main, backup]) emulator.reset();
});

/** What an operator writes under `llm:`, parsed by the real schema. */
function routerConfig(llm: Record<string, unknown> = {}): LlmConfig {
  return hubConfigSchema.parse({
    llm: {
      enabled: true,
      apiKey: 'main-key',
      timeoutMs: 1_000,
      maxRetries: 0,
      breaker: { failureThreshold: 2, resetMs: 60_000 },
      models: [
        { name: 'light', baseUrl: light.url, model: LIGHT_MODEL, apiKey: 'light-key', role: 'light' },
        { name: 'main', baseUrl: main.url, model: MAIN_MODEL, role: 'main' },
        { name: 'backup', baseUrl: backup.url, model: MAIN_MODEL, role: 'main' },
      ],
      routing: {
        lightMaxChars: 20,
        lightIntents: ['greeting', 'opening_hours'],
        minIntentConfidence: 0.8,
        tenants: { acme: { lora: 'acme-support' } },
      },
      fallback: ['main', 'backup', 'light'],
      ...llm,
    },
  }).llm;
}

const router = (llm?: Record<string, unknown>) =>
  createLlmClient(routerConfig(llm), { retryBaseMs: 5, retryMaxMs: 20 }) as LlmRouter;

const ask = (text: string): ChatMessage[] => [
  { role: 'system', content: 'You are a helpful customer-service assistant.' },
  { role: 'user', content: text },
];
const LONG_QUESTION =
  'My parcel was supposed to arrive last Tuesday and the tracking page has not moved since.';

/** Which emulator each request reached, and the model it was sent. */
function served(): Array<[string, string | undefined]> {
  const named: Array<[string, OpenAiEmulator]> = [
    ['light', light],
    ['main', main],
    ['backup', backup],
  ];
  return named
    .flatMap(([name, emulator]) => emulator.requests.map((r) => ({ name, r })))
    .sort((a, b) => a.r.at - b.r.at)
    .map(({ name, r }) => [name, (r.body as { model?: string }).model]);
}

async function sendOne(client: LlmRouter, request: ChatRequest) {
  for (const emulator of [light, main, backup]) emulator.reset();
  await client.chat(request);
  return served();
}

async function caught(promise: Promise<unknown>): Promise<HubError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(HubError);
  return error as HubError;
}

async function requestsCounted(
  labels: Partial<Record<'outcome' | 'model' | 'route', string>>,
): Promise<number> {
  const { values } = await llmRequests.get();
  return values
    .filter((v) =>
      Object.entries(labels).every(([key, value]) => v.labels[key as keyof typeof labels] === value),
    )
    .reduce((sum, v) => sum + v.value, 0);
}

async function circuitOpen(breaker: string): Promise<number | undefined> {
  return (await circuitState.get()).values.find((v) => v.labels.breaker === breaker)?.value;
}

describe('LLM router: which model answers', () => {
  it('sends a request without a routing hint to the main model', async () => {
    const client = router();
    expect(await sendOne(client, { messages: ask('hi') })).toEqual([['main', MAIN_MODEL]]);
  });

  it('sends classify and rewrite tasks to the light model, with its own key', async () => {
    const client = router();
    const long = ask(LONG_QUESTION);
    expect(await sendOne(client, { messages: long, route: { task: 'classify' } })).toEqual([
      ['light', LIGHT_MODEL],
    ]);
    expect(light.requests[0]?.headers.authorization).toBe('Bearer light-key');
    expect(await sendOne(client, { messages: long, route: { task: 'rewrite' } })).toEqual([
      ['light', LIGHT_MODEL],
    ]);
    expect(await sendOne(client, { messages: long, route: { task: 'answer' } })).toEqual([
      ['main', MAIN_MODEL],
    ]);
    expect(main.requests[0]?.headers.authorization).toBe('Bearer main-key');
  });

  it('uses the light model for a listed intent only at or above the confidence threshold', async () => {
    const client = router();
    const long = ask(LONG_QUESTION);
    const send = (intent: string, confidence: number) =>
      sendOne(client, { messages: long, route: { task: 'answer', intent, confidence } });
    expect(await send('opening_hours', 0.8)).toEqual([['light', LIGHT_MODEL]]);
    expect(await send('opening_hours', 0.79)).toEqual([['main', MAIN_MODEL]]);
    expect(await send('refund_status', 0.99)).toEqual([['main', MAIN_MODEL]]);
  });

  it('uses the light model for a short question, counting characters not bytes', async () => {
    const client = router();
    const answer = (question: string, messages = ask(question)) =>
      sendOne(client, { messages, route: { task: 'answer', question } });
    expect(await answer('Are you open today?')).toEqual([['light', LIGHT_MODEL]]);
    expect(await answer('你们周末营业吗？请告诉我具体的营业时间')).toEqual([['light', LIGHT_MODEL]]);
    expect(await answer(LONG_QUESTION)).toEqual([['main', MAIN_MODEL]]);
    // The question, not the prompt around it: a RAG prompt is long even when the question is short.
    expect(
      await answer('Are you open today?', ask(`Passages: ${LONG_QUESTION}\n\nQuestion: Are you open today?`)),
    ).toEqual([['light', LIGHT_MODEL]]);
    // Without the question in the hint, the last user message is measured.
    expect(await sendOne(client, { messages: ask(LONG_QUESTION), route: { task: 'answer' } })).toEqual([
      ['main', MAIN_MODEL],
    ]);
    expect(
      await sendOne(router({ routing: { lightMaxChars: 0 } }), { messages: ask('hi'), route: {} }),
    ).toEqual([['main', MAIN_MODEL]]);
  });

  it("sends a tenant's LoRA adapter name to the main endpoint, and the base models otherwise", async () => {
    const client = router();
    const long = ask(LONG_QUESTION);
    expect(await sendOne(client, { messages: long, route: { tenant: 'acme' } })).toEqual([
      ['main', 'acme-support'],
    ]);
    expect(await sendOne(client, { messages: long, route: { tenant: 'globex' } })).toEqual([
      ['main', MAIN_MODEL],
    ]);
    expect(await sendOne(client, { messages: long, route: { tenant: 'acme', task: 'classify' } })).toEqual([
      ['light', LIGHT_MODEL],
    ]);
    const result = await client.chat({ messages: long, route: { tenant: 'acme' } });
    expect(result.model).toBe('acme-support');
    expect(client.plan({ messages: long, route: { tenant: 'acme' } })).toEqual([
      { endpoint: 'main', model: 'acme-support', route: 'lora' },
      { endpoint: 'backup', model: 'acme-support', route: 'fallback' },
      { endpoint: 'light', model: LIGHT_MODEL, route: 'fallback' },
    ]);
  });

  it('pins the endpoint a request names, and refuses a name that is not configured', async () => {
    const client = router();
    expect(await sendOne(client, { messages: ask('hi'), model: 'backup' })).toEqual([['backup', MAIN_MODEL]]);
    backup.reset();
    const error = await caught(client.chat({ messages: ask('hi'), model: 'gpt-4o' }));
    expect(error.message).toMatch(/"gpt-4o" is not a name in llm.models \(light, main, backup\)/);
    expect(served()).toEqual([]);
  });

  it('counts requests by served model and route', async () => {
    const client = router();
    const before = {
      light: await requestsCounted({ outcome: 'ok', model: LIGHT_MODEL, route: 'light' }),
      lora: await requestsCounted({ outcome: 'ok', model: 'acme-support', route: 'lora' }),
      main: await requestsCounted({ outcome: 'ok', model: MAIN_MODEL, route: 'main' }),
    };
    await client.chat({ messages: ask('hi'), route: { task: 'classify' } });
    await client.chat({ messages: ask(LONG_QUESTION), route: { tenant: 'acme' } });
    await client.chat({ messages: ask(LONG_QUESTION) });
    await client.chat({ messages: ask(LONG_QUESTION) });
    expect(await requestsCounted({ outcome: 'ok', model: LIGHT_MODEL, route: 'light' })).toBe(
      before.light + 1,
    );
    expect(await requestsCounted({ outcome: 'ok', model: 'acme-support', route: 'lora' })).toBe(
      before.lora + 1,
    );
    expect(await requestsCounted({ outcome: 'ok', model: MAIN_MODEL, route: 'main' })).toBe(before.main + 2);
  });
});

describe('LLM router: fallback and circuit breakers', () => {
  it('falls back to the next endpoint when the chosen one refuses connections', async () => {
    const client = router({
      models: [
        { name: 'light', baseUrl: light.url, model: LIGHT_MODEL, apiKey: 'light-key', role: 'light' },
        { name: 'main', baseUrl: deadUrl, model: MAIN_MODEL, role: 'main' },
        { name: 'backup', baseUrl: backup.url, model: MAIN_MODEL, role: 'main' },
      ],
    });
    const before = await requestsCounted({ outcome: 'ok', route: 'fallback' });
    const result = await client.chat({ messages: ask(LONG_QUESTION), route: { tenant: 'acme' } });
    expect(result.text).toContain('Echo:');
    expect(served()).toEqual([['backup', 'acme-support']]);
    expect(await requestsCounted({ outcome: 'ok', route: 'fallback' })).toBe(before + 1);
  });

  it('falls back on 503 after the endpoint’s own retries, and on 429', async () => {
    const client = createLlmClient(routerConfig({ maxRetries: 1 }), { retryBaseMs: 5, retryMaxMs: 20 });
    main.fail({ status: 503, times: 2 });
    await client.chat({ messages: ask(LONG_QUESTION) });
    expect(served()).toEqual([
      ['main', MAIN_MODEL],
      ['main', MAIN_MODEL],
      ['backup', MAIN_MODEL],
    ]);
    for (const emulator of [light, main, backup]) emulator.reset();
    light.fail({ status: 429, retryAfter: 60 });
    await client.chat({ messages: ask('hi'), route: { task: 'classify' } });
    // Retry-After beyond what the client waits for: straight to the next in the fallback order.
    expect(served()).toEqual([
      ['light', LIGHT_MODEL],
      ['main', MAIN_MODEL],
    ]);
  });

  it('tries each endpoint once, never the chosen one again, and reports the last error', async () => {
    const client = router({ fallback: ['main', 'light', 'main', 'backup'] });
    for (const emulator of [light, main, backup]) emulator.fail({ status: 500 });
    const error = await caught(client.chat({ messages: ask(LONG_QUESTION) }));
    expect(error.code).toBe('llm.unavailable');
    expect(served().map(([name]) => name)).toEqual(['main', 'light', 'backup']);
  });

  it('follows the configured fallback order, and stops where it ends', async () => {
    const client = router({ fallback: ['light'] });
    main.fail({ status: 502 });
    await client.chat({ messages: ask(LONG_QUESTION) });
    expect(served()).toEqual([
      ['main', MAIN_MODEL],
      ['light', LIGHT_MODEL],
    ]);
    const noFallback = router({ fallback: [] });
    for (const emulator of [light, main, backup]) emulator.reset();
    main.fail({ status: 502 });
    expect((await caught(noFallback.chat({ messages: ask(LONG_QUESTION) }))).code).toBe('llm.unavailable');
    expect(served().map(([name]) => name)).toEqual(['main']);
  });

  it('does not fall back on an error in the request itself', async () => {
    const client = router();
    main.fail({ status: 400, message: 'max_tokens is too large' });
    expect((await caught(client.chat({ messages: ask(LONG_QUESTION) }))).code).toBe('llm.bad_request');
    expect(served().map(([name]) => name)).toEqual(['main']);
  });

  it('never restarts a stream elsewhere once text reached the caller', async () => {
    const client = router({ timeoutMs: 300 });
    main.fail({ hang: true, afterChunks: 2 });
    const deltas: string[] = [];
    const error = await caught(
      client.chat({ messages: ask(LONG_QUESTION), onDelta: (delta) => deltas.push(delta) }),
    );
    expect(error.code).toBe('llm.timeout');
    expect(deltas.join('')).not.toBe('');
    expect(served().map(([name]) => name)).toEqual(['main']);
    // A stream that failed before any text falls back like any other request.
    for (const emulator of [light, main, backup]) emulator.reset();
    main.fail({ status: 503 });
    const streamed: string[] = [];
    await client.chat({ messages: ask(LONG_QUESTION), onDelta: (delta) => streamed.push(delta) });
    expect(streamed.join('')).toContain('Echo:');
    expect(served().map(([name]) => name)).toEqual(['main', 'backup']);
  });

  it('opens one breaker per endpoint, skips an open endpoint without calling it, and stays available while any is up', async () => {
    const client = router();
    expect([...client.breakers.keys()]).toEqual(['llm:light', 'llm:main', 'llm:backup']);
    main.fail({ status: 500, times: 2 });
    await client.chat({ messages: ask(LONG_QUESTION) });
    await client.chat({ messages: ask(LONG_QUESTION) });
    expect(client.breakers.get('llm:main')?.state()).toBe('open');
    expect(client.breakers.get('llm:backup')?.state()).toBe('closed');
    expect(await circuitOpen('llm:main')).toBe(1);
    expect(await circuitOpen('llm:backup')).not.toBe(1);

    for (const emulator of [light, main, backup]) emulator.reset();
    await client.chat({ messages: ask(LONG_QUESTION), route: { tenant: 'acme' } });
    expect(served()).toEqual([['backup', 'acme-support']]);
    expect(client.available()).toBe(true);

    backup.fail({ status: 500, times: 2 });
    light.fail({ status: 500, times: 2 });
    for (let i = 0; i < 2; i++) {
      await caught(client.chat({ messages: ask(LONG_QUESTION) }));
    }
    expect([...client.breakers.values()].map((b) => b.state())).toEqual(['open', 'open', 'open']);
    expect(client.available()).toBe(false);
    for (const emulator of [light, main, backup]) emulator.reset();
    expect((await caught(client.chat({ messages: ask('hi') }))).code).toBe('llm.circuit_open');
    expect(served()).toEqual([]);
  });
});

describe('LLM router: configuration', () => {
  it('is what createLlmClient returns with llm.models, and the plain client without', async () => {
    expect('plan' in router()).toBe(true);
    const single = createLlmClient(hubConfigSchema.parse({ llm: { enabled: true, baseUrl: main.url } }).llm);
    expect('plan' in single).toBe(false);
    expect([...single.breakers.keys()]).toEqual(['llm']);
  });

  it('takes baseUrl and apiKey from llm when an entry leaves them out', async () => {
    const client = router({
      baseUrl: backup.url,
      models: [{ name: 'only', model: 'served-name', role: 'main' }],
      fallback: undefined,
    });
    await client.chat({ messages: ask('hi'), route: { task: 'classify' } });
    expect(served()).toEqual([['backup', 'served-name']]);
    expect(backup.requests[0]?.headers.authorization).toBe('Bearer main-key');
  });

  it('rejects configs it cannot route, saying how to fix them', () => {
    const issues = (llm: Record<string, unknown>) => {
      const result = hubConfigSchema.safeParse({ llm });
      return result.success ? [] : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    };
    const entry = (name: string, role: string) => ({ name, model: 'm', role });
    expect(issues({ models: [entry('a', 'light')] })).toEqual([
      expect.stringMatching(/^llm.models: .*no entry with role: main/),
    ]);
    expect(issues({ models: [entry('a', 'main'), entry('a', 'light')] })).toEqual([
      expect.stringMatching(/^llm.models.1.name: model name "a" is used twice/),
    ]);
    expect(issues({ models: [entry('a', 'main')], fallback: ['a', 'b'] })).toEqual([
      expect.stringMatching(/^llm.fallback.1: llm.fallback names "b", which is not in llm.models \(a\)/),
    ]);
    expect(issues({ fallback: ['a'] })).toEqual([
      expect.stringMatching(/^llm.fallback: .*llm.models is not set/),
    ]);
    expect(issues({ models: [{ name: 'a b', model: 'm', role: 'main' }] })[0]).toMatch(/^llm.models.0.name/);
    expect(issues({ models: [{ name: 'a', model: 'm', role: 'huge' }] })[0]).toMatch(/^llm.models.0.role/);
    // The single-model config is unchanged.
    expect(issues({ enabled: true, baseUrl: 'http://gpu:8000/v1', model: 'Qwen/Qwen3-14B' })).toEqual([]);
  });
});
