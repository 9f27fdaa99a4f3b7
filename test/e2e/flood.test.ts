import { readFileSync } from 'node:fs';
import http from 'node:http';
import { loadavg } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type HubProcess, SAMPLE_QUESTIONS, startHubProcess, writeConfig } from './hub-process';

/**
 * Floods against a hub process on the default security.rateLimits (issue 13): the abuser comes
 * from 127.0.0.1, the well-behaved customer from 127.0.0.2 (another address on the loopback), and
 * the figures are printed for the release note.
 */
const ADMIN_TOKEN = 'flood-test-admin-token-0123456789';
const ABUSER = '127.0.0.1';
const CUSTOMER = '127.0.0.2';
let hub: HubProcess;

beforeAll(async () => {
  hub = await startHubProcess(writeConfig({ database: { driver: 'pglite', dataDir: 'memory://' } }), [], {
    HUB_ADMIN_TOKEN: ADMIN_TOKEN,
  });
});

afterAll(async () => {
  expect(await hub?.stop()).toBe(0);
});

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  ms: number;
}

const agents = new Map<string, http.Agent>();
function request(
  path: string,
  options: { from: string; method?: string; body?: unknown; headers?: Record<string, string> },
): Promise<Answer> {
  const agent =
    agents.get(options.from) ??
    new http.Agent({ keepAlive: true, maxSockets: 200, localAddress: options.from } as http.AgentOptions);
  agents.set(options.from, agent);
  const started = performance.now();
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${hub.url}${path}`,
      {
        method: options.method ?? (payload ? 'POST' : 'GET'),
        agent,
        localAddress: options.from,
        headers: { ...(payload ? { 'content-type': 'application/json' } : {}), ...options.headers },
      },
      (res) => {
        let body = '';
        res.on('data', (chunk) => {
          body += chunk;
        });
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body,
            ms: performance.now() - started,
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
};

/** CPU seconds the hub process has used so far (user + system), from /proc. */
function hubCpuSeconds(): number {
  const fields = readFileSync(`/proc/${hub.child.pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function measure<T>(run: () => Promise<T>) {
  return async () => {
    const cpu = hubCpuSeconds();
    const started = performance.now();
    const result = await run();
    const seconds = (performance.now() - started) / 1000;
    return { result, seconds, hubCpuSeconds: hubCpuSeconds() - cpu, load1: loadavg()[0] };
  };
}

/** Health checks every 100 ms while `during` runs: the slowest one says whether the hub stayed responsive. */
async function probeHealth(during: Promise<unknown>): Promise<number> {
  let slowest = 0;
  let done = false;
  void during.finally(() => {
    done = true;
  });
  while (!done) {
    const { status, ms } = await request('/healthz', { from: '127.0.0.3' });
    expect(status).toBe(200);
    slowest = Math.max(slowest, ms);
    await new Promise((r) => setTimeout(r, 100));
  }
  return slowest;
}

describe('floods on the default limits', () => {
  it('REST: 1,000 requests from one sender get 429 + Retry-After; another customer is still answered', async () => {
    const flood = Promise.all(
      Array.from({ length: 1000 }, (_, i) =>
        request('/webhooks/rest', {
          from: ABUSER,
          body: { sender: 'flooder', message: SAMPLE_QUESTIONS[i % SAMPLE_QUESTIONS.length] },
        }),
      ),
    );
    const customer = (async () => {
      const latencies: number[] = [];
      for (let i = 0; i < 20; i++) {
        const question = SAMPLE_QUESTIONS[i % SAMPLE_QUESTIONS.length];
        const answer = await request('/webhooks/rest', {
          from: CUSTOMER,
          body: { sender: 'calm', message: question },
        });
        expect(answer.status).toBe(200);
        expect(JSON.parse(answer.body)).not.toHaveLength(0);
        latencies.push(answer.ms);
      }
      return latencies;
    })();
    const run = measure(() => Promise.all([flood, customer]));
    const both = run();
    const slowestHealth = await probeHealth(both);
    const { result, seconds, hubCpuSeconds: cpu, load1 } = await both;
    const [answers, latencies] = result;
    const limited = answers.filter((a) => a.status === 429);
    const answered = answers.filter((a) => a.status === 200);
    const figures = {
      requests: answers.length,
      status429: limited.length,
      answered200: answered.length,
      other: answers.length - limited.length - answered.length,
      floodSeconds: Number(seconds.toFixed(2)),
      customerAnswered: latencies.length,
      customerP50ms: Math.round(percentile(latencies, 50)),
      customerP99ms: Math.round(percentile(latencies, 99)),
      slowestHealthMs: Math.round(slowestHealth),
      hubCpuSeconds: Number(cpu.toFixed(2)),
      load1: Number(load1?.toFixed(2)),
    };
    console.log('REST flood', JSON.stringify(figures));
    // perSender 30/min: the first 30 are taken, every other one is refused at once.
    expect(limited.length).toBeGreaterThanOrEqual(960);
    expect(answered.length + answers.filter((a) => a.status === 202).length).toBeLessThanOrEqual(30);
    for (const answer of limited) {
      expect(Number(answer.headers['retry-after'])).toBeGreaterThan(0);
      expect(JSON.parse(answer.body)).toMatchObject({ error: { code: 'rate_limited' } });
    }
    expect(latencies).toHaveLength(20);
    // Bounds for a shared 2-core test machine; the printed figures are the measurement.
    expect(percentile(latencies, 99)).toBeLessThan(8_000);
    expect(slowestHealth).toBeLessThan(8_000);
  }, 90_000);

  it('web chat: many sockets and messages from one address are capped politely; another customer chats on', async () => {
    // Each socket starts a new session: the hub names it and signs its token.
    const wsUrl = `${hub.url.replace('http', 'ws')}/webchat/webchat/ws`;
    type Frame = { type: string; code?: string; id?: string; message?: string };
    const open = (from: string) =>
      new Promise<{ socket?: WebSocket; frames: Frame[]; refused?: number; closed?: number }>((resolve) => {
        const frames: Frame[] = [];
        const socket = new WebSocket(wsUrl, { localAddress: from });
        socket.on('message', (data) => frames.push(JSON.parse(data.toString()) as Frame));
        socket.once('open', () =>
          // A socket over the open-socket cap is closed right after the handshake.
          setTimeout(
            () =>
              resolve(socket.readyState === WebSocket.OPEN ? { socket, frames } : { frames, closed: 1013 }),
            200,
          ),
        );
        socket.once('close', (code) => resolve({ frames, closed: code }));
        socket.once('unexpected-response', (_req, res) => resolve({ frames, refused: res.statusCode }));
        socket.once('error', () => resolve({ frames, refused: -1 }));
      });

    const attempts = await Promise.all(Array.from({ length: 80 }, () => open(ABUSER)));
    const sockets = attempts.filter((a) => a.socket);
    const refused429 = attempts.filter((a) => a.refused === 429).length;
    const closed1013 = attempts.filter((a) => a.closed === 1013).length;

    const customerFrames: Frame[] = [];
    const customer = await open(CUSTOMER);
    customer.socket?.on('message', (data) => customerFrames.push(JSON.parse(data.toString()) as Frame));

    const cpuBefore = hubCpuSeconds();
    const started = performance.now();
    // Every abusive socket sends 10 messages at once (500 in all, under the per-socket frame limit).
    for (const [s, attempt] of sockets.entries())
      for (let m = 0; m < 10; m++)
        attempt.socket?.send(
          JSON.stringify({
            type: 'message',
            id: `f-${s}-${m}`,
            text: SAMPLE_QUESTIONS[m % SAMPLE_QUESTIONS.length],
          }),
        );

    const latencies: number[] = [];
    for (const [i, question] of SAMPLE_QUESTIONS.slice(0, 5).entries()) {
      const sentAt = performance.now();
      const seen = customerFrames.filter((f) => f.type === 'reply').length;
      customer.socket?.send(JSON.stringify({ type: 'message', id: `calm-${i}`, text: question }));
      const deadline = Date.now() + 10_000;
      while (customerFrames.filter((f) => f.type === 'reply').length <= seen && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
      latencies.push(performance.now() - sentAt);
    }
    await new Promise((r) => setTimeout(r, 1_000));
    const abuserFrames = sockets.flatMap((a) => a.frames);
    const acks = abuserFrames.filter((f) => f.type === 'ack').length;
    const limitedFrames = abuserFrames.filter((f) => f.type === 'error' && f.code === 'rate_limited');
    const figures = {
      socketAttempts: attempts.length,
      socketsOpen: sockets.length,
      upgrade429: refused429,
      closed1013,
      messages: sockets.length * 10,
      accepted: acks,
      rateLimitedFrames: limitedFrames.length,
      repliesToAbuser: abuserFrames.filter((f) => f.type === 'reply').length,
      customerAnswered: customerFrames.filter((f) => f.type === 'reply').length,
      customerP99ms: Math.round(percentile(latencies, 99)),
      seconds: Number(((performance.now() - started) / 1000).toFixed(2)),
      hubCpuSeconds: Number((hubCpuSeconds() - cpuBefore).toFixed(2)),
      load1: Number(loadavg()[0]?.toFixed(2)),
    };
    console.log('Web chat flood', JSON.stringify(figures));
    for (const attempt of [...sockets, customer]) attempt.socket?.close();

    // connectsPerIp 60/min, maxSocketsPerIp 50: 50 open, 10 closed with 1013, 20 refused at the upgrade.
    expect(sockets).toHaveLength(50);
    expect(refused429).toBe(20);
    expect(closed1013).toBe(10);
    // messagesPerIp 120/min over all its sessions.
    expect(acks).toBeLessThanOrEqual(120);
    expect(acks + limitedFrames.length).toBe(500);
    expect(limitedFrames[0]?.message).toMatch(/please wait \d+ seconds/i);
    expect(figures.customerAnswered).toBe(5);
    expect(percentile(latencies, 99)).toBeLessThan(8_000);
  }, 90_000);

  it('admin token brute force: 10 failures, then 429 with a growing Retry-After', async () => {
    const attempt = (token: string, from = ABUSER) =>
      request('/admin/channels/rest/files/none', { from, headers: { authorization: `Bearer ${token}` } });
    const answers: Answer[] = [];
    for (let i = 0; i < 200; i++) answers.push(await attempt(`guess-${i}`));
    const statuses = answers.map((a) => a.status);
    const waits = answers.filter((a) => a.status === 429).map((a) => Number(a.headers['retry-after']));
    const right = await attempt(ADMIN_TOKEN, CUSTOMER);
    const figures = {
      attempts: answers.length,
      status401: statuses.filter((s) => s === 401).length,
      status429: waits.length,
      retryAfterFirst: waits.slice(0, 5),
      retryAfterMax: Math.max(...waits),
      rightTokenOtherAddress: right.status,
    };
    console.log('Admin brute force', JSON.stringify(figures));
    expect(statuses.slice(0, 10)).toEqual(Array(10).fill(401));
    expect(statuses.slice(10).every((s) => s === 429)).toBe(true);
    // authFailures 10 per 300 s, doubling up to 3600 s.
    expect(waits.slice(0, 4)).toEqual([300, 600, 1200, 2400]);
    expect(Math.max(...waits)).toBeLessThanOrEqual(3600);
    expect([401, 429]).not.toContain(right.status);
    const metrics = (await request('/metrics', { from: CUSTOMER })).body;
    expect(metrics).toMatch(/hub_rate_limited_total\{scope="auth.failures",route="[^"]+"\} 190/);
    expect(metrics).toMatch(/hub_rate_limited_total\{scope="rest.sender",route="\/webhooks\/rest"\} \d+/);
  }, 90_000);
});
