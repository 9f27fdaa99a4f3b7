import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type RunningHub, startHub } from '../../app/hub';
import { hubConfigSchema } from '../../core/config/schema';

/**
 * Overload against a running hub whose workers are behind: an api-only process on the in-memory
 * bus, so nothing it accepts is handled and the tenant's backlog only grows.
 */
let hub: RunningHub;

beforeAll(async () => {
  hub = await startHub(
    hubConfigSchema.parse({
      server: { host: '127.0.0.1', port: 0, replyTimeoutMs: 100, role: 'api' },
      database: { driver: 'pglite', dataDir: 'memory://' },
      bus: { admission: { maxBacklog: 3, retryAfterSeconds: 9, typingAfterMs: 0 } },
      channels: [
        { id: 'local', type: 'rest', auth: 'none', tenant: 'acme' },
        { id: 'webchat', type: 'webchat', tenant: 'acme' },
      ],
    }),
  );
});

afterAll(async () => {
  await hub?.stop();
});

const post = (sender: string, message: string) =>
  fetch(`${hub.url}/webhooks/local`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ sender, message }),
  });

async function chat(texts: string[]): Promise<Array<{ type: string; [key: string]: unknown }>> {
  const socket = new WebSocket(`${hub.url?.replace('http', 'ws')}/webchat/webchat/ws`);
  const frames: Array<{ type: string; [key: string]: unknown }> = [];
  socket.on('message', (data) => frames.push(JSON.parse(data.toString())));
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  for (const [i, text] of texts.entries()) {
    socket.send(JSON.stringify({ type: 'message', id: `m-${i}`, text, locale: 'en' }));
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await new Promise((resolve) => setTimeout(resolve, 300));
  socket.close();
  return frames;
}

describe('admission control on a hub whose workers are behind', () => {
  it('takes REST messages up to the backlog limit, then answers 503 with Retry-After and enqueues nothing', async () => {
    for (const sender of ['a', 'b', 'c'])
      expect((await post(sender, 'Where is my parcel?')).status).toBe(202);
    const refused = await post('d', 'Where is my parcel?');
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('9');
    const body = (await refused.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('ingress.busy');
    // A refusal says why and what to do, not "Internal error".
    expect(body.error.message).toMatch(/not accepted, send it again later/);
    expect(await hub.bus.pending()).toBe(3);
  });

  it('accepts a web chat message past the limit and tells the customer once that it is queued', async () => {
    const frames = await chat(['Hello?', 'Is anyone there?', 'Please answer']);
    const acks = frames.filter((f) => f.type === 'ack');
    expect(acks).toHaveLength(3);
    const replies = frames.filter((f) => f.type === 'reply');
    expect(replies).toHaveLength(1);
    expect(JSON.stringify(replies[0])).toMatch(/in the queue/);
    expect(await hub.bus.pending()).toBe(6);
  });

  it('shows the backlog and its age per tenant on /metrics, and stays ready', async () => {
    const metrics = await (await fetch(`${hub.url}/metrics`)).text();
    expect(metrics).toMatch(/hub_bus_backlog 6/);
    expect(metrics).toMatch(/hub_bus_tenant_backlog\{tenant="acme"\} 6/);
    const age = /hub_bus_tenant_oldest_age_seconds\{tenant="acme"\} ([\d.]+)/.exec(metrics)?.[1];
    expect(Number(age)).toBeGreaterThan(0);
    expect(metrics).toMatch(
      /hub_admission_busy_total\{channel="local",outcome="refused",reason="backlog"\} 1/,
    );
    const ready = await fetch(`${hub.url}/readyz`);
    expect(ready.status).toBe(200);
  });
});
