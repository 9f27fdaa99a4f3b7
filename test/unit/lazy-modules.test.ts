import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { type ChannelDescriptor, loadChannelTypes, loadedOnDemand } from '../../core/channels/descriptor';
import type { Connector, ConnectorFactory } from '../../core/channels/types';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../..');

/**
 * The packages a fresh process loads when it imports what `hub start` imports before it looks at
 * the config (the composition root, the channel registry, the retrievers, tracing, the back office).
 */
async function packagesLoadedByTheHub(): Promise<Map<string, string[]>> {
  const script = `
    import { registerHooks } from 'node:module';
    const loaded = {};
    registerHooks({
      load(url, context, next) {
        const match = /node_modules\\/((?:@[^/]+\\/)?[^/]+)\\/(.*)$/.exec(url);
        if (match) (loaded[match[1]] ??= []).push(match[2]);
        return next(url, context);
      },
    });
    for (const file of ['app/hub.ts', 'app/telemetry.ts', 'app/back-office.ts', 'connectors/registry.ts', 'core/rag/index.ts'])
      await import(new URL(file, 'file://${root}/').href);
    console.log(JSON.stringify(loaded));
  `;
  const { stdout } = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: root,
    timeout: 120_000,
  });
  return new Map(
    Object.entries(JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, string[]>),
  );
}

describe('optional libraries load only where they are used', () => {
  it('leaves the Elasticsearch client, the channel SDKs, nodemailer, the OpenAI SDK and the tracing SDK out of a plain start', async () => {
    const loaded = await packagesLoadedByTheHub();
    // The hook sees the modules the hub does need.
    expect(loaded.has('fastify')).toBe(true);
    expect(loaded.has('@orama/orama')).toBe(true);
    // The LLM client builds its SDK client when it is created; its error classes are 3 small modules.
    expect([...(loaded.get('openai') ?? [])].sort()).toEqual([
      'core/error.mjs',
      'error.mjs',
      'internal/errors.mjs',
    ]);
    for (const optional of [
      '@elastic/elasticsearch',
      'undici',
      'telegraf',
      '@slack/web-api',
      '@slack/socket-mode',
      'nodemailer',
      '@opentelemetry/sdk-trace-node',
      '@opentelemetry/exporter-trace-otlp-http',
    ]) {
      expect(loaded.has(optional), optional).toBe(false);
    }
  }, 180_000);
});

describe('channel types loaded on demand', () => {
  const connector = { id: 'pigeon' } as unknown as Connector;
  const counted = () => {
    const loads = { count: 0 };
    const descriptor: ChannelDescriptor = {
      type: 'pigeon',
      ...loadedOnDemand('pigeon', async () => {
        loads.count++;
        return (() => connector) as ConnectorFactory;
      }),
    };
    return { loads, registry: [descriptor] };
  };

  it('loads a type only when an enabled block uses it, once however many blocks do', async () => {
    const { loads, registry } = counted();
    await loadChannelTypes(registry, [
      { type: 'rest', enabled: true },
      { type: 'pigeon', enabled: false },
    ]);
    expect(loads.count).toBe(0);
    await loadChannelTypes(registry, [
      { type: 'pigeon', enabled: true },
      { type: 'pigeon', enabled: true },
    ]);
    await loadChannelTypes(registry, [{ type: 'pigeon', enabled: true }]);
    expect(loads.count).toBe(1);
    expect(registry[0]?.create({} as never)).toBe(connector);
  });

  it('says so when create comes before load', () => {
    const { registry } = counted();
    expect(() => registry[0]?.create({} as never)).toThrow(/load\(\) before create\(\)/);
  });
});
