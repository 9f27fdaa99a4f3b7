import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Normalized } from '../../connectors/shared/normalized';
import { normalizeSlackAction, normalizeSlackEvent } from '../../connectors/slack/normalize';
import { normalizeTeamsActivity } from '../../connectors/teams/normalize';
import { normalizeTelegramUpdate } from '../../connectors/telegram/normalize';
import { toInboundEvent } from '../../connectors/webchat/normalize';
import { parseClientFrame } from '../../connectors/webchat/protocol';
import { normalizeWhatsAppWebhook } from '../../connectors/whatsapp/normalize';
import { cleanText } from '../../core/channels/clean-text';
import { eventShapeProblem } from '../../core/channels/event-shape';
import { channelIngress } from '../../core/channels/ingress';
import { jsonDepthExceeds, parseJsonLimited } from '../../core/http/json-body';
import { HubError, type InboundEvent } from '../../core/types';

/**
 * Property-based tests of every connector's normalize: arbitrary JSON, and real payloads with
 * fields replaced by arbitrary JSON or removed. Whatever comes in, normalize returns an ignore
 * reason or an event whose fields have the types the worker reads, or throws a HubError 4xx;
 * never a TypeError. Seeds: the project's own minimal payloads (from the platforms' documented
 * structures) and, where mounted, the shared corpus of real payloads.
 */
const CORPUS =
  process.env.WEBHOOK_PAYLOADS_DIR ??
  join(import.meta.dirname, '..', '..', '..', 'shared', 'data', 'webhook-payloads');

function corpus(dir: string): unknown[] {
  const folder = join(CORPUS, dir);
  if (!existsSync(folder)) return [];
  return readdirSync(folder)
    .filter((file) => file.endsWith('.json'))
    .map((file) => JSON.parse(readFileSync(join(folder, file), 'utf8')));
}

const TELEGRAM_SEEDS = [
  {
    update_id: 1,
    message: {
      message_id: 10,
      from: { id: 1111111, is_bot: false, first_name: 'Ann', language_code: 'en' },
      chat: { id: -100123, type: 'supergroup', title: 'Shop' },
      text: '@FakeHubBot where is my order?',
      entities: [{ type: 'mention', offset: 0, length: 11 }],
      reply_to_message: { message_id: 9, chat: { id: -100123 }, from: { id: 7000000001 } },
    },
  },
  {
    update_id: 2,
    callback_query: { id: 'q', from: { id: 1 }, data: 'yes', message: { message_id: 3, chat: { id: 1 } } },
  },
  ...corpus('telegram'),
];
const SLACK_SEEDS = [
  {
    type: 'event_callback',
    team_id: 'T1',
    api_app_id: 'A1',
    event_id: 'Ev1',
    event: {
      type: 'message',
      channel: 'D1',
      channel_type: 'im',
      user: 'U1',
      text: 'hi <@U00FAKEBOT01>',
      ts: '1.1',
    },
  },
  {
    type: 'event_callback',
    event: {
      type: 'message',
      subtype: 'message_changed',
      channel: 'C1',
      ts: '2.2',
      message: { user: 'U1', text: 'new', ts: '1.1' },
      previous_message: { user: 'U1', text: 'old', ts: '1.1' },
    },
  },
  ...corpus('slack'),
];
const SLACK_ACTION_SEEDS = [
  {
    type: 'block_actions',
    user: { id: 'U1', name: 'ann' },
    channel: { id: 'C1' },
    container: { message_ts: '1.1' },
    actions: [{ action_id: 'a', value: 'yes', text: { type: 'plain_text', text: 'Yes' }, action_ts: '3.3' }],
  },
];
const TEAMS_SEEDS = [
  {
    type: 'message',
    id: '1',
    serviceUrl: 'https://smba.example/',
    channelId: 'msteams',
    from: { id: '29:user', name: 'Ann' },
    recipient: { id: '28:app' },
    conversation: { id: '19:c@thread.tacv2;messageid=5', conversationType: 'channel' },
    text: '<at>Bot</at> hello',
    entities: [{ type: 'mention', text: '<at>Bot</at>', mentioned: { id: '28:app' } }],
    attachments: [{ contentType: 'image/png', contentUrl: 'https://smba.example/img' }],
  },
  ...corpus('teams'),
];
const WHATSAPP_SEEDS = [
  {
    object: 'whatsapp_business_account',
    entry: [
      {
        changes: [
          {
            field: 'messages',
            value: {
              metadata: { phone_number_id: '100000000000001' },
              contacts: [{ wa_id: '15550002222', profile: { name: 'Ann' } }],
              messages: [
                { from: '15550002222', id: 'wamid.1', type: 'text', text: { body: 'hi' } },
                {
                  from: '15550002222',
                  id: 'wamid.2',
                  type: 'interactive',
                  interactive: { list_reply: { id: 'x' } },
                },
              ],
              statuses: [{ id: 'wamid.0', status: 'read' }],
            },
          },
        ],
      },
    ],
  },
  ...corpus('whatsapp-cloud'),
];

const TG = { channel: 'tg', tenant: 't', botId: 7000000001, botUsername: 'FakeHubBot' };
const SLACK = { channel: 'sl', tenant: 't', botUserId: 'U00FAKEBOT01', botId: 'B00FAKEBOT01' };
const TEAMS = { channel: 'tm', tenant: 't', appId: 'app' };
const WA = { channel: 'wa', tenant: 't', phoneNumberId: '100000000000001' };

/** Every path to a value inside a JSON value (objects and arrays), the root excluded. */
function pathsOf(
  value: unknown,
  prefix: Array<string | number> = [],
  out: Array<Array<string | number>> = [],
) {
  if (value && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      const path = [...prefix, Array.isArray(value) ? Number(key) : key];
      out.push(path);
      pathsOf(item, path, out);
    }
  }
  return out;
}

/** Replace (or, with `undefined`, remove) the value at each chosen path of a copy of `seed`. */
function mutate(seed: unknown, edits: Array<{ at: number; value: unknown }>): unknown {
  const copy = structuredClone(seed);
  const paths = pathsOf(copy);
  for (const { at, value } of edits) {
    const path = paths[at % Math.max(paths.length, 1)];
    if (!path) continue;
    // An earlier edit may have replaced or removed a parent of this path: then it is skipped.
    let parent: unknown = copy;
    for (const key of path.slice(0, -1)) {
      parent =
        parent !== null && typeof parent === 'object'
          ? (parent as Record<string | number, unknown>)[key]
          : undefined;
    }
    if (parent === null || typeof parent !== 'object') continue;
    const last = path[path.length - 1] as string | number;
    // A parent replaced by a value of the other kind (an object's key on an array: `length` := -1 throws).
    if (Array.isArray(parent) !== (typeof last === 'number')) continue;
    const target = parent as Record<string | number, unknown>;
    if (value === undefined) delete target[last];
    else target[last] = value;
  }
  return copy;
}

/** Odd values a wrong payload holds where a string or object belongs. */
const oddValue = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constant(undefined),
  fc.constant(null),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom(0, -1, 1e308, '', '\u0000', [], {}, { id: 1 }, [null]),
);

const mutatedFrom = (seeds: unknown[]) =>
  fc
    .tuple(
      fc.constantFrom(...seeds),
      fc.array(fc.record({ at: fc.nat(), value: oddValue }), { minLength: 1, maxLength: 4 }),
    )
    .map(([seed, edits]) => mutate(seed, edits));

/** Arbitrary JSON, mutated real payloads and the seeds themselves. */
const payloads = (seeds: unknown[]) =>
  fc.oneof(
    { arbitrary: fc.jsonValue({ maxDepth: 5 }), weight: 1 },
    { arbitrary: mutatedFrom(seeds), weight: 4 },
    { arbitrary: fc.constantFrom(...seeds), weight: 1 },
  );

/** The property: an ignore reason, or an event with the worker's types; a throw only as a HubError 4xx. */
function assertWellBehaved(run: () => Normalized | Normalized[]): void {
  let results: Normalized[];
  try {
    const out = run();
    results = Array.isArray(out) ? out : [out];
  } catch (error) {
    expect(error).toBeInstanceOf(HubError);
    expect((error as HubError).status).toBeGreaterThanOrEqual(400);
    expect((error as HubError).status).toBeLessThan(500);
    return;
  }
  for (const result of results) {
    if ('ignored' in result) {
      expect(typeof result.ignored).toBe('string');
      continue;
    }
    expect(eventShapeProblem(result.event)).toBeUndefined();
    expect(['undefined', 'string']).toContain(typeof result.event.text);
  }
}

const RUNS = { numRuns: 400 };

describe('normalize never throws anything but a HubError 4xx, never yields a mistyped event', () => {
  it('telegram', () => {
    fc.assert(
      fc.property(payloads(TELEGRAM_SEEDS), (payload) =>
        assertWellBehaved(() => normalizeTelegramUpdate(payload as never, TG)),
      ),
      RUNS,
    );
  });

  it('slack events and interactions', () => {
    fc.assert(
      fc.property(payloads(SLACK_SEEDS), (payload) =>
        assertWellBehaved(() => normalizeSlackEvent(payload as never, SLACK)),
      ),
      RUNS,
    );
    fc.assert(
      fc.property(payloads(SLACK_ACTION_SEEDS), (payload) =>
        assertWellBehaved(() => normalizeSlackAction(payload as never, SLACK)),
      ),
      RUNS,
    );
  });

  it('teams', () => {
    fc.assert(
      fc.property(payloads(TEAMS_SEEDS), (payload) =>
        assertWellBehaved(() => normalizeTeamsActivity(payload as never, TEAMS)),
      ),
      RUNS,
    );
  });

  it('whatsapp: each message of a batch on its own, receipts never messages', () => {
    fc.assert(
      fc.property(payloads(WHATSAPP_SEEDS), (payload) =>
        assertWellBehaved(() => {
          const batch = normalizeWhatsAppWebhook(payload as never, WA);
          for (const { error } of batch.rejected) {
            expect(error).toBeInstanceOf(HubError);
            expect((error as HubError).status).toBe(400);
          }
          for (const status of batch.statuses) expect(typeof status.messageId).toBe('string');
          return batch.messages;
        }),
      ),
      RUNS,
    );
  });

  it('the seeds themselves normalize without a throw (the fuzz starts from valid payloads)', () => {
    expect(() => TELEGRAM_SEEDS.map((s) => normalizeTelegramUpdate(s as never, TG))).not.toThrow();
    expect(() => SLACK_SEEDS.map((s) => normalizeSlackEvent(s as never, SLACK))).not.toThrow();
    expect(() => TEAMS_SEEDS.map((s) => normalizeTeamsActivity(s as never, TEAMS))).not.toThrow();
    expect(() => WHATSAPP_SEEDS.map((s) => normalizeWhatsAppWebhook(s as never, WA))).not.toThrow();
  });
});

/** Text with what customers send: emoji, CJK, controls, NUL, lone surrogates, line breaks. */
const hostileText = fc.string({
  unit: fc.oneof(
    fc.constantFrom('\u0000', '\u0001', '\u0007', '\u001b', '\u007f', '\r', '\n', '\t', '\ud800', '\udfff'),
    fc.constantFrom('😀', '🙏', '你', '好', '訂', 'é', 'a', ' ', '\u200b', '\ufeff'),
    fc.string({ unit: 'grapheme', maxLength: 2 }),
  ),
  maxLength: 60,
});

// biome-ignore lint/suspicious/noControlCharactersInRegex: what must not survive cleaning
const FORBIDDEN = /[\u0000-\u0008\u000B-\u001F\u007F]/;

/** Whether a string has a lone surrogate (not encodable as UTF-8). */
const wellFormed = (text: string) =>
  !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(text);

describe('ingress cleaning', () => {
  it('cleanText removes NUL, C0 controls (except tab and line feed), DEL and lone surrogates; keeps the rest', () => {
    fc.assert(
      fc.property(hostileText, (text) => {
        const clean = cleanText(text);
        expect(clean).not.toMatch(FORBIDDEN);
        expect(wellFormed(clean)).toBe(true);
        expect(cleanText(clean)).toBe(clean);
        // Nothing printable is lost: emoji and CJK survive in order.
        const printable = (s: string) =>
          [...s.replace(/\r\n?/g, '\n')].filter((c) => !FORBIDDEN.test(c) && wellFormed(c));
        expect([...clean]).toEqual(printable(text));
      }),
      { numRuns: 500 },
    );
    expect(cleanText('订单\u0000#A123 😀\r\nok\t!')).toBe('订单#A123 😀\nok\t!');
    // Found by this property: a control between two lone halves must not join them into a pair.
    expect(cleanText('\ud800\u0000\udfff')).toBe('');
  });

  it('every event through ctx.accept is cleaned, raw payload and keys included, and well-typed', async () => {
    const published: InboundEvent[] = [];
    const accept = channelIngress(async (event) => {
      published.push(event);
      return { accepted: true };
    });
    await fc.assert(
      fc.asyncProperty(hostileText, hostileText, fc.jsonValue({ maxDepth: 4 }), async (text, name, raw) => {
        published.length = 0;
        await accept({
          id: 'rest:ann:1',
          kind: 'message',
          ref: { channel: 'rest', tenant: 't', conversation: 'ann' },
          sender: { id: 'ann', name },
          receivedAt: new Date().toISOString(),
          text,
          raw: { [`k${name}`]: raw, text },
        });
        const [event] = published;
        expect(event?.text).toBe(cleanText(text));
        const everything = JSON.stringify(event);
        expect(everything).not.toMatch(/\\u000[0-8bcef]|\\u001[0-9a-f]|\\u007f/i);
        expect(wellFormed(everything)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('ctx.accept refuses a mistyped event with a 400 and publishes nothing', async () => {
    const published: InboundEvent[] = [];
    const accept = channelIngress(async (event) => {
      published.push(event);
      return { accepted: true };
    });
    const base = {
      id: 'x:1',
      kind: 'message',
      ref: { channel: 'x', tenant: 't', conversation: 'c' },
      sender: { id: 's' },
      receivedAt: new Date().toISOString(),
    };
    for (const bad of [
      { text: 5 },
      { text: { body: 'hi' } },
      { sender: { id: 7 } },
      { ref: { channel: 'x' } },
      { action: { id: null } },
    ]) {
      const error = await accept({ ...base, ...bad } as never).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(HubError);
      expect(error).toMatchObject({ code: 'ingress.invalid_event', status: 400, retryable: false });
    }
    expect(published).toEqual([]);
  });
});

describe('web chat frames and JSON bodies', () => {
  it('parseClientFrame never throws; what it accepts becomes a well-typed event', () => {
    const frames = fc.oneof(
      fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
      fc
        .record({
          type: fc.constantFrom('message', 'action'),
          id: fc.stringMatching(/^[A-Za-z0-9_-]{1,8}$/),
          text: hostileText,
          actionId: hostileText,
        })
        .map((v) => JSON.stringify(v)),
      fc.string({ unit: 'binary', maxLength: 200 }),
      fc.nat({ max: 5000 }).map((n) => `${'['.repeat(n)}${']'.repeat(n)}`),
    );
    fc.assert(
      fc.property(frames, fc.boolean(), (text, binary) => {
        const parsed = parseClientFrame(Buffer.from(text), binary && text.length % 7 === 0);
        if (!parsed.ok) {
          expect(parsed.error.type).toBe('error');
          return;
        }
        const event = toInboundEvent(
          parsed.frame,
          { channel: 'webchat', tenant: 't', conversation: 'session-000000000001' },
          'en',
        );
        expect(eventShapeProblem(event)).toBeUndefined();
      }),
      { numRuns: 400 },
    );
  });

  it('the depth check agrees with the parser and never recurses', () => {
    const nested = fc.tuple(fc.nat({ max: 200 }), fc.constantFrom('[', '{"a":')).map(([n, open]) => {
      const close = open === '[' ? ']' : '}';
      return { depth: n, text: `${open.repeat(n)}1${close.repeat(n)}` };
    });
    fc.assert(
      fc.property(nested, fc.integer({ min: 1, max: 150 }), ({ depth, text }, limit) => {
        expect(jsonDepthExceeds(text, limit)).toBe(depth > limit);
        if (depth > limit) expect(() => parseJsonLimited(text, limit)).toThrow(/deeper than/);
        else expect(() => parseJsonLimited(text, limit)).not.toThrow();
      }),
    );
    // Brackets inside strings, escaped quotes included, do not count.
    expect(jsonDepthExceeds('{"a":"[[[[\\"[[[["}', 1)).toBe(false);
    expect(jsonDepthExceeds('['.repeat(1_000_000), 64)).toBe(true);
  });
});
