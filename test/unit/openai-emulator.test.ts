import { spawn } from 'node:child_process';
import { once } from 'node:events';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { stripThink, ThinkStripper } from '../../core/llm';
import { type OpenAiEmulator, startOpenAiEmulator } from '../emulators/openai-emulator';

let emulator: OpenAiEmulator;
let sdk: OpenAI;

beforeAll(async () => {
  emulator = await startOpenAiEmulator({ apiKey: 'sk-emu', embeddingDimensions: 64 });
  sdk = new OpenAI({ baseURL: emulator.url, apiKey: 'sk-emu', maxRetries: 0 });
});
afterAll(() => emulator.close());
beforeEach(() => emulator.reset());

const cosine = (a: number[], b: number[]) => a.reduce((sum, value, i) => sum + value * (b[i] ?? 0), 0);

describe('OpenAI emulator, through the real SDK', () => {
  it('lists its model and refuses a wrong API key', async () => {
    const models = await sdk.models.list();
    expect(models.data.map((m) => m.id)).toEqual(['Qwen/Qwen3-14B']);
    const stranger = new OpenAI({ baseURL: emulator.url, apiKey: 'wrong', maxRetries: 0 });
    await expect(stranger.models.list()).rejects.toMatchObject({ status: 401 });
  });

  it('returns deterministic, normalized embeddings in float and base64', async () => {
    const input = ['退货政策 三十天', '退货政策', 'shipping to Norway'];
    const base64 = await sdk.embeddings.create({ model: 'emb', input }); // the SDK asks for base64
    const floats = await sdk.embeddings.create({ model: 'emb', input, encoding_format: 'float' });
    const [a, b, c] = base64.data.map((d) => d.embedding);
    expect(a).toHaveLength(64);
    expect(Math.hypot(...(a ?? []))).toBeCloseTo(1, 5);
    expect(floats.data[0]?.embedding[3]).toBeCloseTo(a?.[3] ?? Number.NaN, 5);
    expect(cosine(a ?? [], b ?? [])).toBeGreaterThan(cosine(a ?? [], c ?? []));
  });

  it('quotes a Chinese passage with its marker by default', async () => {
    const completion = await sdk.chat.completions.create({
      model: 'Qwen/Qwen3-14B',
      messages: [
        { role: 'system', content: '资料：\n[1] 退货须在收货后三十天内申请。运费由买家承担。\n[2] 其他' },
        { role: 'user', content: '怎么退货？' },
      ],
    });
    expect(completion.choices[0]?.message.content).toBe('退货须在收货后三十天内申请。 [1]');
  });

  it('honours scripts and failures sent over its HTTP control API', async () => {
    const post = (action: string, body: unknown) =>
      fetch(`${emulator.url.replace('/v1', '')}/__emulator/${action}`, {
        method: 'POST',
        body: JSON.stringify(body),
      });
    await post('fail', { status: 503, retryAfter: 2 });
    await post('script', { replies: ['scripted'] });
    const failed = await sdk.chat.completions
      .create({ model: 'm', messages: [{ role: 'user', content: 'x' }] })
      .catch((e) => e);
    expect(failed).toMatchObject({ status: 503 });
    expect(failed.headers.get('retry-after')).toBe('2');
    const ok = await sdk.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'x' }] });
    expect(ok.choices[0]?.message.content).toBe('scripted');
    const log = await (await fetch(`${emulator.url.replace('/v1', '')}/__emulator/requests`)).json();
    expect(log).toHaveLength(2);
  });

  it('runs standalone and prints its URL', async () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'test/emulators/openai-emulator.ts', '--port', '0'],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    try {
      const [line] = (await once(child.stdout, 'data')) as [Buffer];
      const url = line.toString().trim();
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
      const standalone = new OpenAI({ baseURL: url, apiKey: 'none', maxRetries: 0 });
      const reply = await standalone.chat.completions.create({
        model: 'm',
        messages: [{ role: 'user', content: 'ping' }],
      });
      expect(reply.choices[0]?.message.content).toBe('Echo: ping');
    } finally {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
  });
});

describe('think stripping', () => {
  it('keeps text that only looks like a tag, drops unclosed reasoning', () => {
    expect(stripThink('a <thin b')).toBe('a <thin b');
    expect(stripThink('<think>\n\n</think>\n\nHi')).toBe('Hi');
    expect(stripThink('Answer<think>never closed')).toBe('Answer');
    const stripper = new ThinkStripper();
    const pieces = ['<', 't', 'hink>x</', 'think', '>', ' ok'].map((p) => stripper.push(p));
    expect(pieces.join('') + stripper.flush()).toBe('ok');
  });
});
