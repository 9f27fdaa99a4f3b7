import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningHub, startHub } from '../../app/hub';
import { registerTracing, type Tracing } from '../../app/tracing-sdk';
import { hubConfigSchema } from '../../core/config/schema';
import { type OpenAiEmulator, startOpenAiEmulator } from '../emulators/openai-emulator';
import { type ScratchDatabase, scratchDatabase } from '../support/postgres';
import { until } from './channel-helpers';
import { startHubProcess, writeConfig } from './hub-process';

/**
 * One customer message is one trace: ingress → bus → dialog turn → retrieval → LLM → delivery,
 * parented through the W3C trace context the event carries on the bus, also when the API and the
 * worker are separate hubs joined only by BullMQ on Redis.
 */
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const exporter = new InMemorySpanExporter();
let tracing: Tracing;
let llm: OpenAiEmulator;

beforeAll(async () => {
  tracing = registerTracing({
    serviceName: 'hub-trace-test',
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  llm = await startOpenAiEmulator({ apiKey: 'test-key' });
});

afterAll(async () => {
  await llm?.close();
  await tracing?.shutdown();
});

const base = (extra: Record<string, unknown>) =>
  hubConfigSchema.parse({
    server: { host: '127.0.0.1', port: 0 },
    llm: { enabled: true, baseUrl: llm.url, apiKey: 'test-key', timeoutMs: 5000, maxRetries: 0 },
    channels: [{ id: 'rest', type: 'rest', auth: 'none' }],
    ...extra,
  });

async function ask(url: string, sender: string, message: string) {
  const response = await fetch(`${url}/webhooks/rest`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ sender, message }),
  });
  expect(response.status).toBe(200);
  const replies = (await response.json()) as Array<{ source: string }>;
  return { replies, eventId: decodeURIComponent(response.headers.get('x-hub-event-id') ?? '') };
}

const attribute = (span: ReadableSpan, key: string) => span.attributes[key];
const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;

/** The spans of one message, once its turn has ended, checked for one trace and its parent links. */
async function expectOneTrace(eventId: string) {
  const handled = () =>
    exporter
      .getFinishedSpans()
      .find((s) => s.name === 'dialog.turn' && attribute(s, 'hub.event.id') === eventId);
  await until(`the turn of ${eventId}`, () => Boolean(handled()));
  const spans = exporter.getFinishedSpans();
  const ingress = spans.filter(
    (s) => s.name === 'ingress rest' && attribute(s, 'messaging.message.id') === eventId,
  );
  expect(ingress).toHaveLength(1);
  const root = ingress[0] as ReadableSpan;
  const traceId = root.spanContext().traceId;
  const inTrace = spans.filter((s) => s.spanContext().traceId === traceId);
  const one = (name: string, parent: ReadableSpan) => {
    const found = inTrace.filter((s) => s.name === name && parentOf(s) === parent.spanContext().spanId);
    expect(
      found.map((s) => s.name),
      `${name} under ${parent.name}`,
    ).toHaveLength(1);
    return found[0] as ReadableSpan;
  };

  expect(parentOf(root)).toBeUndefined();
  expect(root.kind).toBe(SpanKind.PRODUCER);
  const handle = one('bus.handle', root);
  expect(handle.kind).toBe(SpanKind.CONSUMER);
  expect(attribute(handle, 'messaging.message.id')).toBe(eventId);
  const turn = one('dialog.turn', handle);
  const retrieve = one('rag.retrieve', turn);
  expect(attribute(retrieve, 'hub.rag.passages')).toBeGreaterThan(0);
  const answer = inTrace.find((s) => s.name === 'llm.chat' && attribute(s, 'hub.llm.task') === 'answer');
  expect(parentOf(answer as ReadableSpan)).toBe(turn.spanContext().spanId);
  expect(attribute(answer as ReadableSpan, 'gen_ai.response.model')).toBeTruthy();
  const deliver = one('outbound.deliver', turn);
  expect(attribute(deliver, 'hub.channel')).toBe('rest');
  const stages = turn.events
    .filter((e) => e.name === 'dialog.stage')
    .map((e) => e.attributes?.['hub.dialog.stage']);
  // In the order they ran: render and the output safety checks wrap the rest; the answer came from a flow here.
  expect(stages.slice(0, 4)).toEqual(['render', 'safetyOutput', 'survey', 'helpdeskUpdate']);
  expect(stages).toEqual(expect.arrayContaining(['safetyInput', 'recognize', 'decide', 'flow']));
  // Every span of this message, and nothing of it elsewhere: one trace.
  const ofMessage = spans.filter(
    (s) => attribute(s, 'messaging.message.id') === eventId || attribute(s, 'hub.event.id') === eventId,
  );
  expect(new Set(ofMessage.map((s) => s.spanContext().traceId))).toEqual(new Set([traceId]));
  for (const span of inTrace) expect(span.endTime[0], span.name).toBeGreaterThan(0);
  return traceId;
}

describe('traces with the in-memory bus', () => {
  let hub: RunningHub;

  beforeAll(async () => {
    hub = await startHub(base({ database: { driver: 'pglite', dataDir: 'memory://' } }));
  });

  afterAll(async () => {
    await hub?.stop();
  });

  it('makes one trace per message, from ingress to delivery, with the stages as events', async () => {
    const first = await ask(hub.url as string, 'trace-mem', 'How long does standard shipping take?');
    expect(first.replies[0]?.source).toBe('llm');
    const firstTrace = await expectOneTrace(first.eventId);
    const second = await ask(hub.url as string, 'trace-mem', 'Can I get an invoice?');
    expect(await expectOneTrace(second.eventId)).not.toBe(firstTrace);
  });
});

describe('traces across an API hub and a worker hub on BullMQ', () => {
  const suffix = randomBytes(4).toString('hex');
  let database: ScratchDatabase;
  let api: RunningHub;
  let worker: RunningHub;

  beforeAll(async () => {
    database = scratchDatabase('hub_traces');
    await database.create();
    const shared = {
      database: { driver: 'postgres', url: database.url },
      redis: { url: REDIS_URL, keyPrefix: `hub-traces-${suffix}` },
      bus: { driver: 'bullmq', queue: `traces-${suffix}` },
      state: { driver: 'redis' },
    };
    worker = await startHub(base({ ...shared, server: { role: 'worker' } }));
    api = await startHub(base({ ...shared, server: { host: '127.0.0.1', port: 0, role: 'api' } }));
  });

  afterAll(async () => {
    await api?.stop();
    await worker?.stop();
    await database?.drop();
    const redis = new Redis(REDIS_URL);
    for await (const keys of redis.scanStream({ match: `hub-traces-${suffix}:*`, count: 500 })) {
      if ((keys as string[]).length > 0) await redis.del(...(keys as string[]));
    }
    redis.disconnect();
  });

  it('joins the worker turn to the API ingress through the trace context on the event', async () => {
    const { replies, eventId } = await ask(
      api.url as string,
      'trace-bullmq',
      'What payment methods do you accept?',
    );
    expect(replies.length).toBeGreaterThan(0);
    await expectOneTrace(eventId);
  });
});

describe('hub start with telemetry.traces in its config', () => {
  let collector: Server;
  const received: Array<{ path: string; spans: Array<{ name: string; traceId: string }> }> = [];

  beforeAll(async () => {
    collector = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk) => {
        body += chunk;
      });
      request.on('end', () => {
        const parsed = JSON.parse(body) as {
          resourceSpans: Array<{ scopeSpans: Array<{ spans: Array<{ name: string; traceId: string }> }> }>;
        };
        const spans = parsed.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans));
        received.push({ path: request.url ?? '', spans });
        response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
  });

  afterAll(async () => {
    await new Promise((resolve) => collector.close(resolve));
  });

  it('exports each message as one trace to the OTLP endpoint, flushed when it stops', async () => {
    const endpoint = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;
    const hub = await startHubProcess(
      writeConfig({
        database: { dataDir: 'memory://' },
        telemetry: { traces: { exporter: 'otlp', endpoint } },
      }),
    );
    try {
      const { replies } = await ask(hub.url, 'otlp-ann', 'Can I get an invoice?');
      expect(replies.length).toBeGreaterThan(0);
    } finally {
      expect(await hub.stop()).toBe(0);
    }
    expect(new Set(received.map((r) => r.path))).toEqual(new Set(['/v1/traces']));
    const spans = received.flatMap((r) => r.spans);
    expect(spans.map((s) => s.name)).toEqual(
      expect.arrayContaining([
        'ingress rest',
        'bus.handle',
        'dialog.turn',
        'rag.retrieve',
        'outbound.deliver',
      ]),
    );
    expect(new Set(spans.map((s) => s.traceId)).size).toBe(1);
  });
});
