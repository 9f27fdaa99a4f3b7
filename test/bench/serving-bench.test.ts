import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import {
  buildConversations,
  percentile,
  runServingBenchmark,
  runViaHub,
  type ServingReport,
  summarise,
} from '../../bench/serving/serving';
import { countTokens } from '../../core/llm/tokenizer';
import { type HubProcess, startHubProcess, writeConfig } from '../e2e/hub-process';
import { type OpenAiEmulator, startOpenAiEmulator } from '../emulators/openai-emulator';

const ROOT = join(import.meta.dirname, '..', '..');

let emulator: OpenAiEmulator | undefined;
afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
});

const base = {
  concurrency: 4,
  requests: 8,
  promptTokens: 600,
  sharedPrefixTokens: 400,
  maxTokens: 32,
  timeoutMs: 5000,
};

describe('serving benchmark', () => {
  it('builds prompts of the asked size sharing one prefix and differing in the question', () => {
    const conversations = buildConversations({ requests: 3, promptTokens: 600, sharedPrefixTokens: 400 });
    expect(new Set(conversations.map((c) => c.system)).size).toBe(1);
    expect(new Set(conversations.map((c) => c.user)).size).toBe(3);
    const system = countTokens((conversations[0] as { system: string }).system);
    expect(system).toBeGreaterThanOrEqual(400);
    expect(system).toBeLessThan(440);
    for (const c of conversations) {
      const total = system + countTokens(c.user);
      expect(total).toBeGreaterThanOrEqual(600);
      expect(total).toBeLessThan(680);
    }
  });

  it('computes nearest-rank percentiles', () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(sorted, 50)).toBe(50);
    expect(percentile(sorted, 99)).toBe(99);
    expect(Number.isNaN(summarise([]).p50)).toBe(true);
  });

  it('measures TTFT at least the injected latency, and time per token from the chunk delay (closed loop)', async () => {
    emulator = await startOpenAiEmulator({ latencyMs: 60, chunkDelayMs: 5 });
    const report = await runServingBenchmark({ url: emulator.url, ...base });
    expect(report.mode).toBe('closed-loop');
    expect(report.requests).toBe(8);
    expect(report.completed).toBe(8);
    expect(report.errors).toBe(0);
    expect(report.ttftMs.p50).toBeGreaterThanOrEqual(60);
    expect(report.ttftMs.p99).toBeGreaterThanOrEqual(report.ttftMs.p50);
    expect(report.tpotMs.p50).toBeGreaterThan(0);
    expect(report.latencyMs.p50).toBeGreaterThan(report.ttftMs.p50);
    expect(report.outputTokensPerS).toBeGreaterThan(0);
    expect(report.requestsPerS).toBeGreaterThan(0);
    // Every request streamed, named the listed model, and carried the same system prefix.
    const bodies = emulator.chatRequests();
    expect(bodies).toHaveLength(8);
    expect(bodies.every((b) => b.stream === true && b.model === 'Qwen/Qwen3-14B')).toBe(true);
    expect(new Set(bodies.map((b) => JSON.stringify(b.messages?.[0]))).size).toBe(1);
  });

  it('counts failed requests as errors by kind and keeps them out of the latency figures', async () => {
    emulator = await startOpenAiEmulator({ latencyMs: 20 });
    emulator.fail({ status: 500, times: 3 });
    const report = await runServingBenchmark({ url: emulator.url, model: 'm', ...base });
    expect(report.errors).toBe(3);
    expect(report.completed).toBe(5);
    expect(report.errorKinds).toEqual({ http_500: 3 });
    expect(report.ttftMs.p50).toBeGreaterThanOrEqual(20);
  });

  it('spreads open-loop Poisson arrivals over time at the given rate', async () => {
    emulator = await startOpenAiEmulator();
    const report = await runServingBenchmark({ url: emulator.url, model: 'm', ...base, rate: 100 });
    expect(report.mode).toBe('open-loop');
    expect(report.completed).toBe(8);
    // 7 gaps of mean 10 ms: the run cannot be instantaneous.
    expect(report.durationS).toBeGreaterThan(0.005);
    const at = emulator.requests.filter((r) => r.path.endsWith('/chat/completions')).map((r) => r.at);
    expect(Math.max(...at) - Math.min(...at)).toBeGreaterThan(5);
  });

  it('runs the same load straight at the model server and through the hub, and reports the overhead', async () => {
    emulator = await startOpenAiEmulator({ latencyMs: 30 });
    let hub: HubProcess | undefined;
    try {
      hub = await startHubProcess(
        writeConfig({
          database: { dataDir: 'memory://' },
          server: { replyTimeoutMs: 4_000 },
          llm: { enabled: true, baseUrl: emulator.url, timeoutMs: 10_000, maxRetries: 0 },
        }),
      );
      // The CLI as an operator runs it (npm run bench:serving -- ...), in one run for both paths.
      const { stdout } = await promisify(execFile)(
        process.execPath,
        [
          '--import',
          'tsx',
          'bench/serving/cli.ts',
          ...['--url', emulator.url, '--via-hub', hub.url, '--requests', '8', '--concurrency', '4'],
          ...['--prompt-tokens', '600', '--shared-prefix-tokens', '400', '--max-tokens', '32'],
          ...['--timeout-ms', '20000'],
        ],
        { cwd: ROOT, timeout: 60_000 },
      );
      console.log(stdout);
      expect(stdout).toMatch(/^requests +8\/8 ok, 0 errors/m);
      const viaHub = /^via hub +(\d+)\/(\d+) ok, (\d+) errors \{\}, answers (\{.*\})$/m.exec(stdout);
      expect(viaHub?.slice(1, 4)).toEqual(['8', '8', '0']);
      const overhead = /^hub overhead +×(\d+\.\d\d) at p50, ×(\d+\.\d\d) at p99/m.exec(stdout);
      expect(overhead).not.toBeNull();
      expect(Number(overhead?.[1])).toBeGreaterThan(0);

      // The model server saw the benchmark's 8 streamed requests, and one answer generation per reply the
      // hub says came from the model (intent classification by the model, if any, asks for JSON).
      const answers = JSON.parse(viaHub?.[4] ?? '{}') as Record<string, number>;
      expect(answers.llm).toBeGreaterThan(0);
      const bodies = emulator.chatRequests();
      expect(bodies.filter((b) => b.stream === true)).toHaveLength(8);
      const generated = bodies.filter((b) => b.stream !== true && !b.response_format);
      expect(generated).toHaveLength(answers.llm as number);
      const questions = buildConversations({ requests: 8, promptTokens: 600, sharedPrefixTokens: 400 }).map(
        (c) => c.question,
      );
      for (const body of generated) {
        expect(questions.some((question) => JSON.stringify(body.messages).includes(question))).toBe(true);
      }

      // A turn slower than server.replyTimeoutMs is answered 202; the bench fetches the reply later and
      // counts the turn as slow, not as lost.
      emulator.setLatency({ requestMs: 5_000 });
      const slow = await runViaHub(
        { ...base, url: emulator.url, viaHub: hub.url, requests: 2, concurrency: 2, timeoutMs: 30_000 },
        { latencyMs: summarise([5_000]) } as ServingReport,
      );
      expect(slow).toMatchObject({ requests: 2, completed: 2, hubErrors: 0, errorKinds: {} });
      expect(slow.viaHub.p50).toBeGreaterThanOrEqual(5_000);
    } finally {
      await hub?.stop();
    }
  }, 180_000);
});
