import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ask, type HubProcess, startHubProcess, writeConfig } from './hub-process';

let hub: HubProcess;

beforeAll(async () => {
  // Embedded defaults, except the database lives in memory so runs leave nothing behind.
  hub = await startHubProcess(writeConfig({ database: { driver: 'pglite', dataDir: 'memory://' } }));
});

afterAll(async () => {
  expect(await hub?.stop()).toBe(0);
});

describe('hub on embedded defaults', () => {
  it('is healthy and ready', async () => {
    expect((await fetch(`${hub.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${hub.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ checks: { database: 'ok', bus: 'ok' } });
  });

  it('answers an English question from the knowledge base, with citations', async () => {
    const { status, replies } = await ask(hub.url, 'alice', 'How long does standard shipping take?');
    expect(status).toBe(200);
    expect(replies).toHaveLength(1);
    const [reply] = replies;
    expect(reply?.locale).toBe('en');
    expect(reply?.source).toBe('extractive');
    expect(reply?.text).toMatch(/day/i);
    expect(reply?.citations?.[0]?.source).toMatch(/\.md$/);
  });

  it('answers a Chinese question in Chinese, with citations', async () => {
    const { replies } = await ask(hub.url, '小王', '退货运费谁承担？');
    expect(replies).toHaveLength(1);
    expect(replies[0]?.locale).toBe('zh');
    expect(replies[0]?.text).toMatch(/\p{Script=Han}/u);
    expect(replies[0]?.text).toMatch(/退/);
    expect(replies[0]?.citations?.length).toBeGreaterThan(0);
  });

  it('answers a retried request once, with the same reply', async () => {
    const first = await ask(hub.url, 'bob', 'Can I get an invoice?', { message_id: 'm-1' });
    const retry = await ask(hub.url, 'bob', 'Can I get an invoice?', { message_id: 'm-1' });
    expect(retry.replies).toEqual(first.replies);
    expect(retry.eventId).toBe(first.eventId);
    const metrics = await (await fetch(`${hub.url}/metrics`)).text();
    expect(metrics).toMatch(/hub_duplicates_dropped_total\{channel="rest"\} [1-9]/);
  });

  it('rejects malformed input with 4xx and keeps serving', async () => {
    const post = (body: string, type = 'application/json') =>
      fetch(`${hub.url}/webhooks/rest`, { method: 'POST', headers: { 'content-type': type }, body });
    expect((await post('{"sender": "x", "message":')).status).toBe(400);
    expect((await post('{"message": "no sender"}')).status).toBe(400);
    expect(await postOversize(hub.url, JSON.stringify({ sender: 'x', message: 'y'.repeat(2_000_000) }))).toBe(
      413,
    );
    expect((await post('sender=x', 'application/x-www-form-urlencoded')).status).toBe(415);
    expect((await ask(hub.url, 'carol', 'Which payment methods do you accept?')).replies).toHaveLength(1);
  });

  it('chats over the web chat with a typing indicator and cited replies', async () => {
    // No session: the hub starts one (a browser rejoins it with the signed token of its session frame).
    const socket = new WebSocket(`${hub.url.replace('http', 'ws')}/webchat/webchat/ws`);
    const frames: Array<{ type: string; [key: string]: unknown }> = [];
    socket.on('message', (data) => frames.push(JSON.parse(data.toString())));
    await new Promise((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    });
    socket.send(JSON.stringify({ type: 'message', id: 'c-1', text: '可以开发票吗？', locale: 'zh-CN' }));
    const deadline = Date.now() + 15_000;
    while (!frames.some((f) => f.type === 'reply') && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    socket.close();
    const types = frames.map((f) => f.type);
    expect(types).toContain('ack');
    expect(types).toContain('typing');
    const reply = frames.find((f) => f.type === 'reply') as unknown as {
      message: { content: { text: string }; citations: unknown[]; locale: string };
    };
    expect(reply.message.locale).toBe('zh');
    expect(reply.message.content.text).toMatch(/发票/);
    expect(reply.message.citations.length).toBeGreaterThan(0);
    const page = await fetch(`${hub.url}/chat`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
  });
});

/**
 * The server answers 413 from the Content-Length header alone and closes without reading the body:
 * send the headers, read the status, and never race the server with 2 MB of body.
 */
function postOversize(base: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      `${base}/webhooks/rest`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
        request.destroy();
      },
    );
    request.on('error', reject);
    request.flushHeaders();
  });
}
