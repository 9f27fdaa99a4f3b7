import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createChannelStorage, createConnectors, type SharedChannelContext } from '../../app/channels';
import { channelRegistry } from '../../connectors/registry';
import { validateChannelOptions, validateChannels } from '../../connectors/validate';
import type { ChannelRegistry } from '../../core/channels/descriptor';
import type { Connector } from '../../core/channels/types';
import { type HubConfig, hubConfigSchema } from '../../core/config/schema';
import { logger } from '../../core/log';
import { webhookRequests } from '../../core/metrics';
import { MemoryDeliveryLedger, MemoryRateLimiter, OutboundScheduler } from '../../core/outbound';
import {
  type HubStore,
  type InboundEvent,
  type OutboundContent,
  type OutboundMessage,
  renderAsText,
} from '../../core/types';
import { counterValue, recordingIngress } from '../support/channel-context';

export interface Scenario {
  /** A DM text message from `user` with `text`, with the platform's id `platformId`. */
  text(platformId: number, user: string, text: string): unknown;
  /** The same message, edited (left out where the platform does not report edits to bots). */
  edit?(platformId: number, user: string, text: string): unknown;
  /** A message the bot itself wrote. */
  echo(platformId: number): unknown;
  /** A button press on `value`. */
  action(platformId: number, user: string, value: string): { body: string; contentType: string };
  /** Someone joined the conversation (left out where bots are not in group conversations). */
  membership?(platformId: number, user: string): unknown;
  /** `user` put a thumbs-up on message `messageId` (left out where the connector does not report reactions yet). */
  reaction?(platformId: number, user: string, messageId: string): unknown;
}

export interface Harness {
  type: string;
  start(): Promise<{ config: Record<string, unknown>; stop(): Promise<void> }>;
  signedHeaders(body: string): Record<string, string>;
  forgeries(body: string): Array<{ name: string; headers: Record<string, string> }>;
  scenario: Scenario;
  /** What the customer sees of the platform calls the emulator received for a conversation. */
  visible(conversation: string): Array<{ text: string; buttons: string[] }>;
  conversationOf(user: string): string;
  /** Longest text one platform message holds. */
  textLimit: number;
  /** Hub config the connector runs under (default: embedded). */
  hub?: Record<string, unknown>;
  /** Where a bot may only answer a customer who wrote first (WhatsApp's 24-hour window): they did. */
  customerWrote?(conversation: string): Promise<void>;
}

/**
 * What every push connector must do, whatever its platform: the same scenarios, written once, with
 * a small harness per platform that knows how to sign a request and build a platform payload. The
 * connector is built as the hub builds it: its block validated and created through `registry`'s
 * descriptor by app/channels.ts, with the hub's ingress and storage.
 */
export function pushConnectorCases(harness: Harness, registry: ChannelRegistry = channelRegistry): void {
  let app: FastifyInstance;
  let connector: Connector;
  let platform: { stop(): Promise<void> };
  let config: HubConfig;
  let shared: SharedChannelContext;
  let storage: { close(): Promise<void> } | undefined;
  const published: InboundEvent[] = [];
  const bus = { on: false };

  beforeAll(async () => {
    const started = await harness.start();
    platform = started;
    config = hubConfigSchema.parse({
      ...harness.hub,
      channels: [{ id: `conf-${harness.type}`, type: harness.type, tenant: 'acme', ...started.config }],
    });
    validateChannels(config, registry);
    validateChannelOptions(config, registry);
    const channelStorage = await createChannelStorage(config);
    storage = channelStorage;
    shared = {
      accept: recordingIngress(published, bus),
      storage: channelStorage.storage,
      feed: { publish: async () => {}, subscribe: async () => async () => {}, close: async () => {} },
      store: {} as HubStore,
      outbound: new OutboundScheduler({
        limiter: new MemoryRateLimiter(),
        ledger: new MemoryDeliveryLedger(),
        policy: {
          maxAttempts: 3,
          baseDelayMs: 10,
          maxDelayMs: 50,
          maxWaitMs: 5_000,
          idempotencyTtlMs: 60_000,
        },
        logger,
      }),
    };
    [connector] = (await createConnectors(config, registry, shared)) as [Connector];
    app = Fastify();
    await connector.register(app);
    await app.ready();
  });

  afterAll(async () => {
    await app?.close();
    await connector?.close?.();
    await platform?.stop();
    await storage?.close();
  });

  const send = (body: string, headers: Record<string, string>, contentType = 'application/json') =>
    app.inject({
      method: 'POST',
      url: `/webhooks/conf-${harness.type}`,
      headers: { 'content-type': contentType, ...headers },
      payload: body,
    });

  const sendSigned = (payload: unknown, contentType = 'application/json') => {
    const body = typeof payload === 'string' ? payload : JSON.stringify(payload);
    return send(body, harness.signedHeaders(body), contentType);
  };

  it('normalizes a text message into a keyed, addressed message event', async () => {
    const response = await sendSigned(harness.scenario.text(100, '1234567', 'Hello 你好 😀'));
    expect(response.statusCode).toBe(200);
    const event = published.at(-1);
    expect(event).toMatchObject({
      kind: 'message',
      text: 'Hello 你好 😀',
      addressedToBot: true,
      sender: { id: expect.stringContaining('1234567') },
      ref: {
        channel: `conf-${harness.type}`,
        tenant: 'acme',
        conversation: harness.conversationOf('1234567'),
      },
    });
    expect(event?.id.startsWith(`conf-${harness.type}:`)).toBe(true);
    expect(event?.raw).toBeDefined();
  });

  it('gives a redelivered request the same event id, so the bus drops it', async () => {
    const before = published.length;
    const payload = harness.scenario.text(200, '1234567', 'again');
    await sendSigned(payload);
    const again = await sendSigned(payload);
    expect(again.statusCode).toBe(200);
    expect(published.length).toBe(before + 1);
  });

  it('normalizes edits as edits, button presses as actions, joins as membership', async () => {
    if (harness.scenario.edit) {
      await sendSigned(harness.scenario.edit(300, '1234567', 'edited words'));
      expect(published.at(-1)).toMatchObject({ kind: 'edit', text: 'edited words' });
    }
    const action = harness.scenario.action(400, '1234567', 'opt_2');
    expect((await sendSigned(action.body, action.contentType)).statusCode).toBe(200);
    expect(published.at(-1)).toMatchObject({ kind: 'action', action: { id: 'opt_2' } });
    if (harness.scenario.membership) {
      await sendSigned(harness.scenario.membership(500, '7654321'));
      expect(published.at(-1)).toMatchObject({
        kind: 'membership',
        membership: { change: 'joined', memberIds: ['7654321'] },
      });
    }
  });

  it.skipIf(!harness.scenario.reaction)('normalizes a reaction on a message as a reaction', async () => {
    const messageId = '1767000000.000100';
    const payload = harness.scenario.reaction?.(550, '1234567', messageId);
    expect((await sendSigned(payload)).statusCode).toBe(200);
    expect(published.at(-1)).toMatchObject({
      kind: 'reaction',
      ref: { conversation: harness.conversationOf('1234567') },
      reaction: { messageId, added: true },
    });
  });

  it("ignores the bot's own echo", async () => {
    const before = published.length;
    expect((await sendSigned(harness.scenario.echo(600))).statusCode).toBe(200);
    expect(published.length).toBe(before);
  });

  it('rejects every forgery with 401 and publishes nothing', async () => {
    const before = published.length;
    const body = JSON.stringify(harness.scenario.text(700, '1234567', 'forged'));
    for (const forgery of harness.forgeries(body)) {
      const response = await send(body, forgery.headers);
      expect(response.statusCode, forgery.name).toBe(401);
    }
    expect(published.length).toBe(before);
  });

  it('answers malformed JSON with 400 and an unsupported content type with 415', async () => {
    expect((await sendSigned('{"oops": ')).statusCode).toBe(400);
    expect((await sendSigned('"just a string"')).statusCode).toBe(400);
    const text = 'hello';
    expect((await send(text, harness.signedHeaders(text), 'text/plain')).statusCode).toBe(415);
  });

  it('answers a signed body nested deeper than server.maxJsonDepth with 400, before parsing it', async () => {
    const response = await sendSigned(`{"a":${'['.repeat(5_000)}${']'.repeat(5_000)}}`);
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ error: { code: 'request.json_too_deep' } });
  });

  it('acknowledges a signed update with a field of the wrong type (200: never resent), publishing nothing', async () => {
    const before = published.length;
    const marker = 'WRONG-TYPE-MARKER';
    const payload = replaceValue(harness.scenario.text(750, '1234567', marker), marker, { not: 'words' });
    const response = await sendSigned(payload);
    expect(response.statusCode).toBe(200);
    expect(published.length).toBe(before);
  });

  it('publishes text with NUL and control characters removed, emoji and CJK kept', async () => {
    expect(
      (await sendSigned(harness.scenario.text(760, '1234567', '订单\u0000 A123\u0007 😀\r\nok'))).statusCode,
    ).toBe(200);
    expect(published.at(-1)?.text).toBe('订单 A123 😀\nok');
  });

  it('answers 503 while the bus cannot take an update, counted, and accepts the redelivery', async () => {
    const before = published.length;
    const channel = `conf-${harness.type}`;
    const unavailable = await counterValue(webhookRequests, { channel, outcome: 'unavailable' });
    const payload = harness.scenario.text(800, '1234567', 'while the bus is down');
    bus.on = true;
    try {
      expect((await sendSigned(payload)).statusCode).toBe(503);
    } finally {
      bus.on = false;
    }
    expect(published.length).toBe(before);
    expect(await counterValue(webhookRequests, { channel, outcome: 'unavailable' })).toBe(unavailable + 1);
    expect((await sendSigned(payload)).statusCode).toBe(200);
    expect(published.length).toBe(before + 1);
  });

  const delivered = async (conversation: string, content: OutboundContent, id: string) => {
    const message: OutboundMessage = {
      id,
      ref: { channel: `conf-${harness.type}`, tenant: 'acme', conversation },
      content,
      createdAt: new Date().toISOString(),
    };
    await harness.customerWrote?.(conversation);
    await connector.deliver?.(message);
    return harness.visible(conversation);
  };

  it('renders choices as buttons the platform accepts', async () => {
    const seen = await delivered(
      harness.conversationOf('2000001'),
      {
        type: 'choices',
        text: 'Pick *one*',
        choices: [
          { id: 'a', title: 'Alpha' },
          { id: 'b', title: 'Beta' },
        ],
      },
      'r1',
    );
    expect(seen).toHaveLength(1);
    expect(seen[0]?.buttons).toEqual(['Alpha', 'Beta']);
    expect(seen[0]?.text).toContain('Pick *one*');
  });

  it('degrades what the platform cannot show to the text rendering, never dropping words', async () => {
    const tooLong = 'x'.repeat(300);
    const contents: OutboundContent[] = [
      {
        type: 'choices',
        text: 'Unbuttonable',
        choices: [
          { id: tooLong, title: 'First way' },
          { id: `${tooLong}2`, title: 'Second way' },
        ],
      },
      {
        type: 'card',
        title: 'Order A-1',
        subtitle: 'shipped',
        text: 'Arrives Friday',
        buttons: [{ id: 'track', title: 'Track' }],
      },
      { type: 'file', url: 'https://example.com/invoice.pdf', name: 'invoice.pdf', caption: 'Your invoice' },
      {
        type: 'text',
        format: 'markdown',
        text: '**Bold** and _italic_ with <tags> & [a link](https://example.com/?a=1&b=2)\n\n- item `code`',
      },
    ];
    for (const [index, content] of contents.entries()) {
      const conversation = harness.conversationOf(String(3000000 + index));
      const seen = await delivered(conversation, content, `d${index}`);
      expect(seen.length, content.type).toBeGreaterThanOrEqual(1);
      const shown = seen.map((s) => [s.text, ...s.buttons].join('\n')).join('\n');
      const words = renderAsText(content)
        .split(/[\s*_`[\]()]+/)
        .filter((w) => /^[A-Za-z]{3,}$/.test(w));
      for (const word of words) expect(shown, `${content.type}: ${word}`).toContain(word);
    }
  });

  it('splits a text longer than the platform allows without losing any of it', async () => {
    const third = Math.ceil(harness.textLimit / 6);
    const long = `${'段落。'.repeat(third)}\n\n${'word '.repeat(third)}<<END>>`;
    const seen = await delivered(harness.conversationOf('4000001'), { type: 'text', text: long }, 'long1');
    expect(
      seen
        .map((s) => s.text)
        .join('')
        .replace(/\s+/g, ''),
    ).toBe(long.replace(/\s+/g, ''));
  });

  it('delivers a message once when the turn is redelivered', async () => {
    const conversation = harness.conversationOf('5000001');
    await delivered(conversation, { type: 'text', text: 'only once' }, 'once');
    const seen = await delivered(conversation, { type: 'text', text: 'only once' }, 'once');
    expect(seen).toHaveLength(1);
  });

  it('delivers from a connector whose routes were never registered (a worker-only process)', async () => {
    const [worker] = await createConnectors(config, registry, shared);
    const conversation = harness.conversationOf('6000001');
    await harness.customerWrote?.(conversation);
    await worker?.deliver?.({
      id: 'from-worker',
      ref: { channel: `conf-${harness.type}`, tenant: 'acme', conversation },
      content: { type: 'text', text: 'sent by a worker' },
      createdAt: new Date().toISOString(),
    });
    expect(harness.visible(conversation).map((s) => s.text)).toEqual(['sent by a worker']);
  });
}

/** A copy of a JSON value with every string equal to `marker` replaced by `replacement`. */
function replaceValue(value: unknown, marker: string, replacement: unknown): unknown {
  if (value === marker) return replacement;
  if (Array.isArray(value)) return value.map((item) => replaceValue(item, marker, replacement));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, replaceValue(item, marker, replacement)]),
    );
  }
  return value;
}
