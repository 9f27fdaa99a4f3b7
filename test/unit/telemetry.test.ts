import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTracing, type Tracing } from '../../app/telemetry';
import { hubConfigSchema } from '../../core/config/schema';
import { inSpan, traceContextOf, withTraceContext } from '../../core/telemetry/trace';
import type { InboundEvent } from '../../core/types';
import { hubVersion } from '../../core/version';

/** A collector stand-in: what OTLP/HTTP requests arrive, by path, with their JSON bodies. */
let collector: Server;
let collectorUrl: string;
const exports: Array<{ path: string; body: OtlpExport }> = [];

interface OtlpExport {
  resourceSpans: Array<{
    resource: { attributes: Array<{ key: string; value: { stringValue?: string } }> };
    scopeSpans: Array<{ spans: Array<{ name: string; traceId: string }> }>;
  }>;
}

beforeAll(async () => {
  collector = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => {
      body += chunk;
    });
    request.on('end', () => {
      exports.push({ path: request.url ?? '', body: JSON.parse(body) as OtlpExport });
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
  collectorUrl = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => collector.close(resolve));
});

let running: Tracing | undefined;
afterEach(async () => {
  await running?.shutdown();
  running = undefined;
  exports.length = 0;
});

const telemetry = (traces: Record<string, unknown> = {}) =>
  hubConfigSchema.parse({ telemetry: { traces } }).telemetry;

const event: InboundEvent = {
  id: 'rest:ann:1',
  kind: 'message',
  ref: { channel: 'rest', tenant: 'default', conversation: 'ann' },
  sender: { id: 'ann' },
  receivedAt: new Date(0).toISOString(),
  text: 'hello',
};

const exportedSpans = () =>
  exports.flatMap(({ body }) => body.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans)));
const resourceAttribute = (key: string) =>
  exports[0]?.body.resourceSpans[0]?.resource.attributes.find((a) => a.key === key)?.value.stringValue;

describe('tracing switch', () => {
  it('is off by default: no SDK, events published as they are', async () => {
    expect(await startTracing(telemetry(), {})).toBeUndefined();
    const traced = await inSpan('ingress rest', {}, async () => withTraceContext(event));
    expect(traced).toBe(event);
    expect(traced.trace).toBeUndefined();
  });

  it('exports spans over OTLP/HTTP to the configured endpoint, with the service name and version', async () => {
    running = await startTracing(
      telemetry({ exporter: 'otlp', endpoint: collectorUrl, serviceName: 'hub-eu' }),
      {},
    );
    expect(running).toBeDefined();
    const published = await inSpan('ingress rest', {}, async () => withTraceContext(event));
    expect(published.trace?.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    await inSpan('bus.handle', { parent: traceContextOf(published) }, async () => {});
    await running?.shutdown();
    running = undefined;
    expect(exports.map((e) => e.path)).toEqual(['/v1/traces']);
    expect(resourceAttribute('service.name')).toBe('hub-eu');
    expect(resourceAttribute('service.version')).toBe(hubVersion);
    const spans = exportedSpans();
    expect(spans.map((s) => s.name).sort()).toEqual(['bus.handle', 'ingress rest']);
    expect(new Set(spans.map((s) => s.traceId)).size).toBe(1);
  });

  it('turns on from the standard OTEL_* variables alone', async () => {
    const saved = process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = collectorUrl;
    try {
      running = await startTracing(telemetry(), {
        OTEL_TRACES_EXPORTER: 'otlp',
        OTEL_SERVICE_NAME: 'hub-from-env',
      });
    } finally {
      if (saved === undefined) delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
      else process.env.OTEL_EXPORTER_OTLP_ENDPOINT = saved;
    }
    await inSpan('dialog.turn', {}, async () => {});
    await running?.shutdown();
    running = undefined;
    expect(exports.map((e) => e.path)).toEqual(['/v1/traces']);
    expect(resourceAttribute('service.name')).toBe('hub-from-env');
    expect(exportedSpans().map((s) => s.name)).toEqual(['dialog.turn']);
  });

  it('keeps no new trace at sampleRatio 0, and OTEL_SDK_DISABLED wins over the config', async () => {
    expect(
      await startTracing(telemetry({ exporter: 'otlp', endpoint: collectorUrl }), {
        OTEL_SDK_DISABLED: 'true',
      }),
    ).toBeUndefined();
    running = await startTracing(telemetry({ exporter: 'otlp', endpoint: collectorUrl, sampleRatio: 0 }), {});
    const published = await inSpan('ingress rest', {}, async () => withTraceContext(event));
    // The decision travels too: the worker drops the rest of the trace.
    expect(published.trace?.traceparent).toMatch(/-00$/);
    await running?.shutdown();
    running = undefined;
    expect(exportedSpans()).toEqual([]);
  });

  it('refuses an exporter it does not have, and a config typo, saying what to set', async () => {
    await expect(startTracing(telemetry(), { OTEL_TRACES_EXPORTER: 'jaeger' })).rejects.toThrow(
      /OTEL_TRACES_EXPORTER=otlp/,
    );
    expect(() => telemetry({ exporter: 'zipkin' })).toThrow();
    expect(() => telemetry({ exporter: 'otlp', endpoint: 'collector:4318' })).toThrow(/http/);
  });
});
