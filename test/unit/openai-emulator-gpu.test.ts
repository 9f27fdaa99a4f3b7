import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { chatKindOf, type OpenAiEmulator, startOpenAiEmulator } from '../emulators/openai-emulator';

let emulator: OpenAiEmulator | undefined;
afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
});

const intentFormat = {
  type: 'json_schema' as const,
  json_schema: {
    name: 'intent',
    strict: true,
    schema: {
      type: 'object',
      properties: { intent: { type: 'string', enum: ['faq', 'unknown'] }, confidence: { type: 'number' } },
      required: ['intent', 'confidence'],
    },
  },
};

async function start(gpu: NonNullable<Parameters<typeof startOpenAiEmulator>[0]>['gpu']) {
  emulator = await startOpenAiEmulator({ gpu });
  return { emulator, sdk: new OpenAI({ baseURL: emulator.url, apiKey: 'x', maxRetries: 0 }) };
}

const ask = (sdk: OpenAI, text: string, signal?: AbortSignal) =>
  sdk.chat.completions.create(
    { model: 'm', messages: [{ role: 'user', content: `[1] ${text}.\n\nQuestion: ${text}` }] },
    { signal },
  );

describe('OpenAI emulator with GPU-like timing', () => {
  it('serves at most maxConcurrent requests at once and queues the rest, first come first served', async () => {
    const { emulator, sdk } = await start({ timeToFirstTokenMs: 80, maxConcurrent: 2 });
    const began = performance.now();
    const ends = await Promise.all(
      ['a', 'b', 'c', 'd'].map((t) => ask(sdk, t).then(() => performance.now() - began)),
    );
    // Two rounds of 80 ms: the last two waited for a slot.
    expect(Math.max(...ends)).toBeGreaterThanOrEqual(155);
    const stats = emulator.stats();
    expect(stats.byKind.answer.requests).toBe(4);
    expect(stats.maxQueued).toBe(2);
    expect(stats.byKind.answer.busyMs).toBeGreaterThanOrEqual(4 * 75);
    expect(stats.byKind.answer.queuedMs).toBeGreaterThanOrEqual(2 * 60);
    const served = emulator.takeServed();
    expect(served.map((r) => r.lastUser.slice(-1))).toEqual(['a', 'b', 'c', 'd']);
    expect(served.filter((r) => r.queuedMs > 60)).toHaveLength(2);
    expect(emulator.takeServed()).toEqual([]);
    // A bench in another process reads the same over HTTP.
    const base = emulator.url.replace(/\/v1$/, '');
    const remote = (await (
      await fetch(`${base}/__emulator/stats`, { method: 'POST' })
    ).json()) as typeof stats;
    expect(remote.byKind.answer.requests).toBe(4);
    await ask(sdk, 'e');
    const log = (await (await fetch(`${base}/__emulator/served`, { method: 'POST' })).json()) as unknown[];
    expect(log).toMatchObject([{ kind: 'answer', aborted: false }]);
  });

  it('takes time to first token plus a time per token: answers by answerTokens, classifications by their own length', async () => {
    const { emulator, sdk } = await start({ timeToFirstTokenMs: 30, tokenMs: 5, answerTokens: 40 });
    const t0 = performance.now();
    await ask(sdk, 'shipping');
    const answerMs = performance.now() - t0;
    expect(answerMs).toBeGreaterThanOrEqual(30 + 40 * 5 - 5);
    const t1 = performance.now();
    const classified = await sdk.chat.completions.create({
      model: 'm',
      messages: [{ role: 'user', content: 'faq please' }],
      response_format: intentFormat,
    });
    const classifyMs = performance.now() - t1;
    expect(JSON.parse(classified.choices[0]?.message.content ?? '{}')).toMatchObject({ intent: 'faq' });
    expect(classifyMs).toBeLessThan(answerMs);
    const stats = emulator.stats();
    expect(stats.byKind.classify.requests).toBe(1);
    expect(stats.byKind.answer.requests).toBe(1);
    expect(stats.byKind.classify.busyMs).toBeGreaterThanOrEqual(30);
  });

  it('streams the first piece after the first token time and the rest over the decoding time', async () => {
    const { sdk } = await start({ timeToFirstTokenMs: 60, tokenMs: 4, answerTokens: 30 });
    const t0 = performance.now();
    const stream = await sdk.chat.completions.create({
      model: 'm',
      stream: true,
      messages: [
        { role: 'user', content: '[1] Parcels leave within two days of the order.\n\nQuestion: when' },
      ],
    });
    const arrivals: number[] = [];
    for await (const chunk of stream)
      if (chunk.choices[0]?.delta.content) arrivals.push(performance.now() - t0);
    expect(arrivals[0]).toBeGreaterThanOrEqual(55);
    expect(arrivals.at(-1)).toBeGreaterThanOrEqual(60 + 30 * 4 - 30);
  });

  it('counts an aborted request with the slot time it used, and gives its slot to the next in line', async () => {
    const { emulator, sdk } = await start({ timeToFirstTokenMs: 400, maxConcurrent: 1 });
    const controller = new AbortController();
    const first = ask(sdk, 'first', controller.signal).catch((error: Error) => error);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const t0 = performance.now();
    const second = ask(sdk, 'second');
    setTimeout(() => controller.abort(), 80);
    expect(await first).toBeInstanceOf(Error);
    await second;
    // The second did not wait for the first's full 400 ms.
    expect(performance.now() - t0).toBeLessThan(400 + 300);
    const served = emulator.takeServed();
    const aborted = served.find((r) => r.lastUser.endsWith('first'));
    expect(aborted?.aborted).toBe(true);
    expect(aborted?.busyMs).toBeGreaterThanOrEqual(70);
    expect(aborted?.busyMs).toBeLessThan(350);
    expect(emulator.stats().byKind.answer).toMatchObject({ requests: 2, aborted: 1 });
  });

  it('tells the hub kinds of request apart by their shape', () => {
    expect(chatKindOf({ messages: [{ role: 'user', content: 'x' }], response_format: intentFormat })).toBe(
      'classify',
    );
    expect(
      chatKindOf({
        messages: [
          { role: 'system', content: "Rewrite the customer's last message as one standalone search query" },
          { role: 'user', content: 'Customer (last message): and returns?' },
        ],
      }),
    ).toBe('rewrite');
    expect(chatKindOf({ messages: [{ role: 'user', content: 'ping' }], max_tokens: 1 })).toBe('probe');
    expect(chatKindOf({ messages: [{ role: 'user', content: 'how long is shipping' }] })).toBe('answer');
  });
});
