import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OpenAiEmulator, startOpenAiEmulator } from '../emulators/openai-emulator';
import { ask, type HubProcess, startHubProcess, writeConfig } from './hub-process';

const ROOT = join(import.meta.dirname, '..', '..');
const MODEL = 'Qwen/Qwen3-14B';

let stable: OpenAiEmulator;
let canary: OpenAiEmulator;
let hub: HubProcess;

beforeAll(async () => {
  [stable, canary] = await Promise.all([
    startOpenAiEmulator({ model: MODEL }),
    startOpenAiEmulator({ model: MODEL }),
  ]);
  hub = await startHubProcess(
    writeConfig({
      database: { dataDir: 'memory://' },
      llm: {
        enabled: true,
        timeoutMs: 1500,
        maxRetries: 0,
        breaker: { failureThreshold: 1000, resetMs: 60_000 },
        models: [
          { name: 'main', baseUrl: stable.url, model: MODEL, version: 'v1', role: 'main' },
          {
            name: 'main-next',
            baseUrl: canary.url,
            model: MODEL,
            version: 'v2',
            role: 'main',
            canary: { of: 'main', share: 1 },
          },
        ],
        rollback: { windowMs: 600_000, minRequests: 6, maxErrorRate: 0.5, maxFallbackRate: 0.5 },
      },
    }),
    [],
    { HUB_ADMIN_TOKEN: '' },
  );
});

afterAll(async () => {
  await hub?.stop();
  await Promise.all([stable?.close(), canary?.close()]);
});

async function series(name: string, labels: string): Promise<number> {
  const metrics = await (await fetch(`${hub.url}/metrics`)).text();
  const line = metrics.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

function modelsStatus(): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [join(ROOT, 'bin', 'hub.mjs'), 'models', 'status', '--url', hub.url],
      {
        cwd: ROOT,
        env: { ...process.env, HUB_ADMIN_TOKEN: '' },
      },
    );
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
    });
    child.stderr.on('data', (chunk) => {
      out += chunk;
    });
    child.on('exit', (code) => resolve({ code, out }));
  });
}

describe('canary release in a running hub', () => {
  it('counts the answer, its thumbs-down and the handoff that follows against the canary version', async () => {
    const answers = await series('hub_llm_version_answers_total', 'model="main",version="v2"');
    const first = await ask(hub.url, 'tess', 'can I get an invoice?');
    expect(first.replies[0]?.source).toBe('llm');
    expect(first.replies[0]?.text).toMatch(/Did that answer your question/);
    expect(canary.chatRequests().length).toBeGreaterThan(0);
    expect(await series('hub_llm_version_answers_total', 'model="main",version="v2"')).toBe(answers + 1);

    const no = await ask(hub.url, 'tess', 'no');
    expect(no.replies[0]?.text).toMatch(/connect you to a human agent/);
    expect(
      await series('hub_llm_version_feedback_total', 'model="main",version="v2",feedback="unhelpful"'),
    ).toBe(1);

    await ask(hub.url, 'tess', 'yes');
    expect(await series('hub_llm_version_handoffs_total', 'model="main",version="v2"')).toBe(1);
    // Nothing was charged to the stable version.
    expect(await series('hub_llm_version_handoffs_total', 'model="main",version="v1"')).toBe(0);
    expect(
      await series('hub_llm_version_feedback_total', 'model="main",version="v1",feedback="unhelpful"'),
    ).toBe(0);
  });

  it('rolls a failing canary back while customers keep getting model answers, and shows it in hub models status', async () => {
    canary.fail({ status: 500, times: 10_000 });
    const senders = ['uma', 'vic', 'wen', 'xia', 'yan', 'zoe'];
    for (const sender of senders) {
      const { replies } = await ask(hub.url, sender, 'How long does shipping take?');
      expect(replies[0]?.source).toBe('llm');
    }
    expect(await series('hub_llm_canary_rolled_back', 'model="main",version="v2"')).toBe(1);
    expect(await series('hub_llm_canary_share', 'model="main",version="v2"')).toBe(0);
    const failedAttempts = canary.requests.length;
    await ask(hub.url, 'ada', 'Which payment methods do you accept?');
    expect(canary.requests.length).toBe(failedAttempts);

    const status = await modelsStatus();
    expect(status.code, status.out).toBe(0);
    expect(status.out).toMatch(
      /stable {2}v1 {2}\(main: Qwen\/Qwen3-14B\) {2}split 0% configured, 100% effective/,
    );
    expect(status.out).toMatch(
      /canary {2}v2 {2}\(main-next: Qwen\/Qwen3-14B\) {2}split 100% configured, 0% effective/,
    );
    expect(status.out).toMatch(/ROLLED BACK v2 at .*: error_rate/);
  }, 60_000);
});
