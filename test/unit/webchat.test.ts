import websocket from '@fastify/websocket';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createWebchatConnector } from '../../connectors/webchat/connector';
import { channelIngress } from '../../core/channels/ingress';
import type { ChannelContext, Connector } from '../../core/channels/types';
import { hubConfigSchema } from '../../core/config/schema';
import { logger } from '../../core/log';
import { SessionTokens } from '../../core/security/session-tokens';
import { MemoryKeyValueStore } from '../../core/storage';
import {
  type ConversationRef,
  conversationKey,
  HubError,
  type HubStore,
  type InboundEvent,
  type OutboundFeed,
  type OutboundMessage,
  type TranscriptEntry,
} from '../../core/types';

/* ---------- test-local stand-ins for the bus, the feed and the store (the real ones live elsewhere) ---------- */

function localFeed(): OutboundFeed & { listenerCount(): number } {
  const listeners = new Set<(message: OutboundMessage) => void>();
  return {
    async publish(message) {
      for (const listener of listeners) listener(message);
    },
    async subscribe(listener) {
      listeners.add(listener);
      return async () => void listeners.delete(listener);
    },
    async close() {
      listeners.clear();
    },
    listenerCount: () => listeners.size,
  };
}

function transcriptOnlyStore(transcripts: Map<string, TranscriptEntry[]>): HubStore {
  const unused = async (): Promise<never> => {
    throw new Error('not used by the web chat connector');
  };
  return {
    migrate: unused,
    upsertCustomer: unused,
    recordInbound: unused,
    recordOutbound: unused,
    repliesTo: unused,
    ping: unused,
    close: unused,
    async transcript(key, options) {
      return (transcripts.get(key) ?? []).slice(-(options?.limit ?? 50));
    },
  };
}

interface Harness {
  url: string;
  published: InboundEvent[];
  feed: ReturnType<typeof localFeed>;
  transcripts: Map<string, TranscriptEntry[]>;
  connector: Connector;
  failPublish: { on: boolean };
}

const apps: FastifyInstance[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

async function startHub(channel: Record<string, unknown> = {}): Promise<Harness> {
  const published: InboundEvent[] = [];
  const seen = new Set<string>();
  const failPublish = { on: false };
  const feed = localFeed();
  const transcripts = new Map<string, TranscriptEntry[]>();
  const context: ChannelContext = {
    config: { id: 'webchat', type: 'webchat', enabled: true, tenant: 'acme', ...channel },
    hub: hubConfigSchema.parse({}),
    // Dedupe by event id, as the bus does.
    accept: channelIngress(async (event) => {
      if (failPublish.on) throw new HubError('bus.unavailable', 'bus down', { retryable: true });
      if (seen.has(event.id)) return { accepted: false };
      seen.add(event.id);
      published.push(event);
      return { accepted: true };
    }),
    storage: new MemoryKeyValueStore(),
    feed,
    store: transcriptOnlyStore(transcripts),
    logger,
    access: { apiKeys: { authenticate: async () => undefined }, sessionTokens: TOKENS },
  };
  const connector = createWebchatConnector(context);
  const app = Fastify();
  await app.register(websocket);
  await connector.register(app);
  await app.listen({ port: 0, host: '127.0.0.1' });
  apps.push(app);
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { url: `127.0.0.1:${port}`, published, feed, transcripts, connector, failPublish };
}

type Frame = { type: string; [key: string]: unknown };

/** The hub's session-token signer in these tests: a browser that rejoins a session got its token from it. */
const TOKENS = SessionTokens.ephemeral();
/** A week, the default sessionTtlHours: a fresh token, not one the hub would renew. */
const WEEK_MS = 168 * 3_600_000;
const tokenFor = (session: string, ttlMs = WEEK_MS, channel = 'webchat') =>
  TOKENS.issue(channel, session, ttlMs).token;

/** A browser stand-in rejoining `session` with the token the hub issued for it. */
function openChat(hub: Harness, session: string, headers: Record<string, string> = {}) {
  const token = tokenFor(decodeURIComponent(session));
  return openSocket(hub, `session=${session}&token=${encodeURIComponent(token)}`, headers);
}

/** A browser stand-in: collects frames and lets a test wait for the next one of a type. */
async function openSocket(hub: Harness, query: string, headers: Record<string, string> = {}) {
  const socket = new WebSocket(`ws://${hub.url}/webchat/webchat/ws?${query}`, { headers });
  const frames: Frame[] = [];
  const waiters: Array<() => void> = [];
  socket.on('message', (data) => {
    frames.push(JSON.parse(data.toString()));
    for (const wake of waiters.splice(0)) wake();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  async function next(type: string, timeoutMs = 2000): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = frames.findIndex((frame) => frame.type === type);
      if (index >= 0) return frames.splice(index, 1)[0] as Frame;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${type} frame; got ${JSON.stringify(frames)}`);
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, left);
      });
    }
  }
  const send = (frame: unknown) => socket.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  return { socket, frames, next, send, closed };
}

const SESSION = 'sess_0123456789abcdef';
const OTHER = 'sess_fedcba9876543210';
const refOf = (conversation: string): ConversationRef => ({
  channel: 'webchat',
  tenant: 'acme',
  conversation,
});
const reply = (conversation: string, text: string, id = `r-${text}`): OutboundMessage => ({
  id,
  ref: refOf(conversation),
  content: { type: 'text', text },
  citations: [{ id: 'kb-1', title: 'Invoices', source: 'kb/invoices.md' }],
  createdAt: new Date().toISOString(),
});

describe('web chat connector', () => {
  it('serves the widget with a restrictive CSP and the right content types', async () => {
    const hub = await startHub();
    for (const path of ['/chat', '/webchat/webchat', '/webchat/webchat/']) {
      const page = await fetch(`http://${hub.url}${path}`);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toMatch(/^text\/html/);
      const csp = page.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("default-src 'none'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      const html = await page.text();
      expect(html).toContain('src="/webchat/webchat/widget.js"');
      expect(html).toContain('content="/webchat/webchat/ws"');
      expect(html).toContain('id="messages"');
    }
    const js = await fetch(`http://${hub.url}/webchat/webchat/widget.js`);
    expect(js.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(await js.text()).toContain('new WebSocket');
    const css = await fetch(`http://${hub.url}/webchat/webchat/widget.css`);
    expect(css.headers.get('content-type')).toMatch(/^text\/css/);
    expect(css.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('publishes a message as an InboundEvent, then acks and shows typing', async () => {
    const hub = await startHub();
    const chat = await openChat(hub, SESSION);
    chat.send({ type: 'message', id: 'm1', text: ' Can I get an invoice? ', locale: 'zh-CN' });
    expect(await chat.next('ack')).toEqual({ type: 'ack', id: 'm1', duplicate: false });
    expect(await chat.next('typing')).toEqual({ type: 'typing', on: true });
    expect(hub.published).toHaveLength(1);
    expect(hub.published[0]).toMatchObject({
      id: `webchat:${SESSION}:m1`,
      kind: 'message',
      ref: refOf(SESSION),
      sender: { id: SESSION },
      text: 'Can I get an invoice?',
      locale: 'zh-CN',
      addressedToBot: true,
      raw: { type: 'message', id: 'm1' },
    });
    expect(Date.parse(hub.published[0]?.receivedAt ?? '')).not.toBeNaN();
  });

  it('acks a resend as a duplicate and takes the locale from Accept-Language when the frame has none', async () => {
    const hub = await startHub();
    const chat = await openChat(hub, SESSION, { 'accept-language': 'en-GB,en;q=0.8' });
    chat.send({ type: 'message', id: 'm1', text: 'hello' });
    await chat.next('ack');
    chat.send({ type: 'message', id: 'm1', text: 'hello' });
    expect(await chat.next('ack')).toEqual({ type: 'ack', id: 'm1', duplicate: true });
    expect(hub.published).toHaveLength(1);
    expect(hub.published[0]?.locale).toBe('en-GB');
  });

  it('publishes a button click as an action', async () => {
    const hub = await startHub();
    const chat = await openChat(hub, SESSION);
    chat.send({ type: 'action', id: 'a1', actionId: 'track-order', title: 'Track my order' });
    await chat.next('ack');
    expect(hub.published[0]).toMatchObject({
      id: `webchat:${SESSION}:a1`,
      kind: 'action',
      action: { id: 'track-order', title: 'Track my order' },
    });
  });

  it('relays feed replies to every socket of the session and to no one else', async () => {
    const hub = await startHub();
    const first = await openChat(hub, SESSION);
    const second = await openChat(hub, SESSION);
    const stranger = await openChat(hub, OTHER);
    await Promise.all([first.next('history'), second.next('history'), stranger.next('history')]);
    await hub.feed.publish({
      ...reply(SESSION, 'other channel'),
      ref: { ...refOf(SESSION), channel: 'rest' },
    });
    await hub.feed.publish(reply(SESSION, 'Yes, invoices are available.'));
    for (const chat of [first, second]) {
      const frame = (await chat.next('reply')) as unknown as { message: OutboundMessage };
      expect(frame.message.content).toEqual({ type: 'text', text: 'Yes, invoices are available.' });
      expect(frame.message.citations?.[0]?.title).toBe('Invoices');
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(stranger.frames).toEqual([]);
    expect(first.frames).toEqual([]);
  });

  it('turns typing off when no reply comes in time', async () => {
    const hub = await startHub({ typingTimeoutMs: 50 });
    const chat = await openChat(hub, SESSION);
    chat.send({ type: 'message', id: 'm1', text: 'anyone there?' });
    expect(await chat.next('typing')).toEqual({ type: 'typing', on: true });
    expect(await chat.next('typing')).toEqual({ type: 'typing', on: false });
  });

  it('sends the transcript on connect, oldest first, without raw payloads', async () => {
    const hub = await startHub();
    const key = conversationKey(refOf(SESSION));
    const inbound: InboundEvent = {
      id: `webchat:${SESSION}:m1`,
      kind: 'message',
      ref: refOf(SESSION),
      sender: { id: SESSION },
      receivedAt: '2026-01-01T10:00:00.000Z',
      text: 'invoice?',
      platformMessageId: 'm1',
      raw: { secret: 'not for the browser' },
    };
    const outbound = reply(SESSION, 'Here is how.', 'out-1');
    hub.transcripts.set(key, [
      {
        id: 'out-1',
        conversationKey: key,
        direction: 'out',
        text: 'Here is how.',
        at: '2026-01-01T10:00:02.000Z',
        payload: outbound,
      },
      {
        id: inbound.id,
        conversationKey: key,
        direction: 'in',
        text: 'invoice?',
        at: '2026-01-01T10:00:00.000Z',
        payload: inbound,
      },
    ]);
    const chat = await openChat(hub, SESSION);
    const history = (await chat.next('history')) as unknown as { entries: Array<Record<string, unknown>> };
    expect(history.entries).toEqual([
      { direction: 'in', id: inbound.id, clientId: 'm1', text: 'invoice?', at: '2026-01-01T10:00:00.000Z' },
      { direction: 'out', id: 'out-1', at: '2026-01-01T10:00:02.000Z', message: outbound },
    ]);
    expect(JSON.stringify(history)).not.toContain('not for the browser');
  });

  it('answers malformed, oversize and binary frames with errors and keeps serving', async () => {
    const hub = await startHub();
    const chat = await openChat(hub, SESSION);
    chat.send('{"type": "message", ');
    expect(await chat.next('error')).toMatchObject({ code: 'bad_json' });
    chat.send({ type: 'message', id: 'm2' });
    expect(await chat.next('error')).toMatchObject({ code: 'bad_frame', id: 'm2' });
    chat.send({ type: 'message', id: 'm3', text: 'x'.repeat(4001) });
    expect(await chat.next('error')).toMatchObject({ code: 'bad_frame', id: 'm3' });
    chat.send({ type: 'message', id: 'm4', text: 'x'.repeat(9000) });
    expect(await chat.next('error')).toMatchObject({ code: 'frame_too_large' });
    chat.send({ type: 'message', id: 'bad:id', text: 'hi' });
    expect(await chat.next('error')).toMatchObject({ code: 'bad_frame' });
    chat.socket.send(Buffer.from([1, 2, 3]), { binary: true });
    expect(await chat.next('error')).toMatchObject({ code: 'binary_unsupported' });
    chat.send({ type: 'message', id: 'm5', text: 'still there?' });
    expect(await chat.next('ack')).toMatchObject({ id: 'm5' });
    expect(hub.published.map((event) => event.platformMessageId)).toEqual(['m5']);
  });

  it('closes sockets with a bad or missing session id with 1008', async () => {
    const hub = await startHub();
    for (const session of ['short', 'has spaces and is long enough', 'x'.repeat(65), '']) {
      const chat = await openChat(hub, encodeURIComponent(session));
      expect((await chat.closed).code).toBe(1008);
    }
    const page = await fetch(`http://${hub.url}/chat`);
    expect(page.status).toBe(200);
  });

  it('tells the browser to retry when the bus refuses the message', async () => {
    const hub = await startHub();
    const chat = await openChat(hub, SESSION);
    hub.failPublish.on = true;
    chat.send({ type: 'message', id: 'm1', text: 'hello' });
    expect(await chat.next('error')).toMatchObject({ code: 'publish_failed', id: 'm1', retryable: true });
    hub.failPublish.on = false;
    chat.send({ type: 'message', id: 'm1', text: 'hello' });
    expect(await chat.next('ack')).toEqual({ type: 'ack', id: 'm1', duplicate: false });
  });

  it('throttles a flood of frames', async () => {
    const hub = await startHub({ maxFramesPer10s: 2 });
    const chat = await openChat(hub, SESSION);
    for (const id of ['m1', 'm2', 'm3']) chat.send({ type: 'message', id, text: id });
    expect(await chat.next('error')).toMatchObject({ code: 'rate_limited', id: 'm3', retryable: true });
    expect(hub.published).toHaveLength(2);
  });

  it('unsubscribes from the feed and closes sockets on close()', async () => {
    const hub = await startHub();
    const chat = await openChat(hub, SESSION);
    expect(hub.feed.listenerCount()).toBe(1);
    await hub.connector.close?.();
    expect(hub.feed.listenerCount()).toBe(0);
    expect((await chat.closed).code).toBe(1012);
  });

  it('starts a session the hub names and signs, and lets the browser rejoin it with the token', async () => {
    const hub = await startHub();
    const fresh = await openSocket(hub, '');
    const issued = (await fresh.next('session')) as unknown as {
      session: string;
      token: string;
      expiresAt: string;
    };
    expect(issued.session).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(Date.parse(issued.expiresAt) - Date.now()).toBeGreaterThan(167 * 3_600_000);
    fresh.socket.close();
    const rejoined = await openSocket(
      hub,
      `session=${issued.session}&token=${encodeURIComponent(issued.token)}`,
    );
    await rejoined.next('history');
    rejoined.send({ type: 'message', id: 'm1', text: 'hello again' });
    await rejoined.next('ack');
    expect(hub.published[0]?.ref).toEqual(refOf(issued.session));
    // A token with most of its life left is not replaced on every reconnect.
    expect(rejoined.frames.filter((frame) => frame.type === 'session')).toEqual([]);
  });

  it("refuses a socket that claims another session's conversation without its token", async () => {
    const hub = await startHub();
    const victim = await openChat(hub, SESSION);
    await victim.next('history');
    const attempts = [
      `session=${SESSION}`,
      `session=${SESSION}&token=`,
      `session=${SESSION}&token=${encodeURIComponent(tokenFor(OTHER))}`,
      `session=${SESSION}&token=${encodeURIComponent(tokenFor(SESSION, WEEK_MS, 'shop-chat'))}`,
      `session=${SESSION}&token=${encodeURIComponent(`${tokenFor(SESSION).split('.')[0]}.${'A'.repeat(43)}`)}`,
    ];
    for (const query of attempts) {
      const attacker = await openSocket(hub, query);
      attacker.send({ type: 'message', id: 'x1', text: 'show me the order' });
      expect(await attacker.closed).toEqual({ code: 1008, reason: 'invalid session token' });
    }
    const expired = await openSocket(
      hub,
      `session=${SESSION}&token=${encodeURIComponent(tokenFor(SESSION, -1000))}`,
    );
    expect(await expired.closed).toEqual({ code: 1008, reason: 'session expired' });
    await hub.feed.publish(reply(SESSION, 'Your order A-1001 ships today.'));
    expect(((await victim.next('reply')) as { message?: OutboundMessage }).message?.id).toBe(
      'r-Your order A-1001 ships today.',
    );
    expect(hub.published).toEqual([]);
  });

  it('hands out a fresh token when the old one is past half its life', async () => {
    const hub = await startHub({ sessionTtlHours: 2 });
    const chat = await openSocket(
      hub,
      `session=${SESSION}&token=${encodeURIComponent(tokenFor(SESSION, 1_800_000))}`,
    );
    const renewed = (await chat.next('session')) as unknown as { session: string; token: string };
    expect(renewed.session).toBe(SESSION);
    expect(TOKENS.check('webchat', SESSION, renewed.token, Date.now() + 7_000_000)).toBe('valid');
  });

  it('fails fast on bad options with a message that says how to fix it', () => {
    const context = {
      config: { id: 'webchat', type: 'webchat', enabled: true, tenant: 'default', typingTimeoutMs: -1 },
    };
    expect(() => createWebchatConnector(context as unknown as ChannelContext)).toThrow(
      /typingTimeoutMs.*fix it/,
    );
  });
});
