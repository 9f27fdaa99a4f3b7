import { randomBytes } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AnalyticsStore,
  businessFigures,
  createFactsWriter,
  refreshBusinessGauges,
  type TurnFact,
} from '../../core/analytics';
import { conversationsStarted } from '../../core/analytics/metrics';
import { registerAnalyticsRoute } from '../../core/http/analytics-route';
import { errors, registry } from '../../core/metrics';
import type { Caller } from '../../core/security/caller';
import { openTestStore, type TestStore } from '../support/postgres';

/** The conversation lifecycle, the figures' edge cases, the gauges and the admin route, on facts written directly. */

const T0 = Date.parse('2026-11-02T08:00:00Z');
const MIN = 60_000;
let events = 0;

function fact(conversation: string, minute: number, extra: Partial<TurnFact> = {}): TurnFact {
  return {
    eventId: `e-${++events}`,
    conversationKey: `telegram:acme:${conversation}`,
    tenant: 'acme',
    channel: 'telegram',
    customer: true,
    language: 'en',
    intent: 'faq',
    confidence: 0.95,
    confidenceBucket: 9,
    decision: 'flow',
    answerRan: true,
    unanswered: false,
    surveyAsked: false,
    handoff: false,
    withBotBefore: true,
    replies: 1,
    at: new Date(T0 + minute * MIN),
    ...extra,
  };
}

let test: TestStore;
let analytics: AnalyticsStore;
const write = (f: TurnFact, ms = 300) => analytics.record(f, new Date(f.at.getTime() + ms));
const figures = (now: number, query: Partial<Parameters<typeof businessFigures>[1]> = {}) =>
  businessFigures(analytics, { from: '2026-11-02', to: '2026-11-02', ...query }, new Date(now), 30);

beforeAll(async () => {
  test = await openTestStore('pglite');
  analytics = new AnalyticsStore(test.store.db, 30, randomBytes(32));
});

afterAll(async () => {
  await test?.dispose();
});

describe('the conversation lifecycle', () => {
  it('starts a new conversation after abandonAfterMinutes of silence, not before', async () => {
    const a = await write(fact('a1', 0));
    const b = await write(fact('a1', 29));
    const c = await write(fact('a1', 29 + 31));
    expect(a?.startedConversation).toBe(true);
    expect(b).toEqual({ conversationId: a?.conversationId, startedConversation: false });
    expect(c?.startedConversation).toBe(true);
    expect(c?.conversationId).not.toBe(a?.conversationId);
  });

  it('takes a fraction of a minute as the silence that ends a conversation', async () => {
    const quick = new AnalyticsStore(test.store.db, 0.5, randomBytes(32));
    const a = await quick.record(fact('q1', 0), new Date(T0));
    const b = await quick.record(fact('q1', 20 / 60), new Date(T0 + 20_000));
    const c = await quick.record(fact('q1', 20 / 60 + 31 / 60), new Date(T0 + 51_000));
    expect(b).toEqual({ conversationId: a?.conversationId, startedConversation: false });
    expect(c?.startedConversation).toBe(true);
  });

  it('writes a redelivered turn once', async () => {
    const once = fact('r1', 0);
    expect(await write(once)).toBeDefined();
    expect(await write(once)).toBeUndefined();
    const rows = await analytics.db
      .selectFrom('turn_facts')
      .where('event_id', '=', once.eventId)
      .selectAll()
      .execute();
    expect(rows).toHaveLength(1);
  });

  it('keeps a handed-off conversation while a person has it, however long; a new one once back with the bot', async () => {
    const start = await write(fact('h1', 0, { handoff: true, decision: 'handoff:explicit' }));
    const waiting = await write(fact('h1', 90, { withBotBefore: false }));
    expect(waiting?.conversationId).toBe(start?.conversationId);
    // The helpdesk solves it (no customer turn), the survey rating never starts a conversation.
    await write(fact('h1', 120, { customer: false, intent: undefined, replies: 1 }));
    const rating = await write(fact('h1', 121, { csat: { score: 4, scale: '1-5' } }));
    expect(rating?.conversationId).toBe(start?.conversationId);
    const next = await write(fact('h1', 122));
    expect(next?.startedConversation).toBe(true);
  });

  it('writes no fact for a helpdesk update of a conversation it never saw', async () => {
    expect(await write(fact('x1', 0, { customer: false }))).toBeUndefined();
  });

  it('computes the outcome at query time: open, then abandoned after a question left waiting', async () => {
    await write(fact('w1', 0, { awaiting: 'question' }));
    const open = await figures(T0 + 10 * MIN, { by: ['channel'], channel: 'web' });
    expect(open).toEqual([]);
    await write(fact('w2', 0, { channel: 'web', awaiting: 'question' }));
    expect((await figures(T0 + 10 * MIN, { channel: 'web' }))[0]).toMatchObject({ open: 1, abandoned: 0 });
    expect((await figures(T0 + 31 * MIN, { channel: 'web' }))[0]).toMatchObject({ open: 0, abandoned: 1 });
    // "Did that help?" left unanswered is no abandonment: the customer had the answer.
    await write(fact('w3', 0, { channel: 'line', awaiting: 'feedback' }));
    expect((await figures(T0 + 31 * MIN, { channel: 'line' }))[0]).toMatchObject({
      contained: 1,
      abandoned: 0,
    });
    // An "I don't know" answered later by a good answer: ended, but not contained.
    await write(fact('w4', 0, { channel: 'viber', unanswered: true }));
    await write(fact('w4', 2, { channel: 'viber' }));
    expect((await figures(T0 + 40 * MIN, { channel: 'viber' }))[0]).toMatchObject({
      contained: 0,
      endedUnanswered: 1,
      containmentRate: 0,
      dontKnowRate: 0.5,
    });
  });
});

describe('the business gauges', () => {
  it('are set per tenant from the figures of the window, and counters move once per written turn', async () => {
    const before =
      (await conversationsStarted.get()).values.find((v) => v.labels.tenant === 'gauge')?.value ?? 0;
    const writer = createFactsWriter(analytics, () => new Date(T0 + 1000));
    const first = fact('g1', 0, { tenant: 'gauge' });
    await writer(first);
    await writer(first);
    await writer(fact('g2', 0, { tenant: 'gauge', handoff: true }));
    const after = (await conversationsStarted.get()).values.find((v) => v.labels.tenant === 'gauge')?.value;
    expect(after).toBe(before + 2);
    await refreshBusinessGauges(analytics, {
      refreshSeconds: 60,
      windowDays: 1,
      abandonAfterMinutes: 30,
      now: () => new Date(T0 + 60 * MIN),
    });
    const text = await registry.metrics();
    expect(text).toContain('hub_containment_ratio{tenant="gauge"} 0.5');
    expect(text).toContain('hub_conversations{tenant="gauge",outcome="handed_off"} 1');
    expect(text).toContain('hub_first_response_seconds{tenant="gauge",quantile="0.5"} 1');
  });
});

describe('the facts writer', () => {
  it('never stops a turn for a failed write, but lets an outage fail it (the turn then waits and is redelivered)', async () => {
    const failing = (error: Error) =>
      ({ record: async () => Promise.reject(error) }) as unknown as AnalyticsStore;
    const before = (await errors.get()).values.find((v) => v.labels.stage === 'analytics')?.value ?? 0;
    await expect(
      createFactsWriter(failing(new Error('check constraint')))(fact('f1', 0)),
    ).resolves.toBeUndefined();
    const after = (await errors.get()).values.find((v) => v.labels.stage === 'analytics')?.value;
    expect(after).toBe(before + 1);
    const down = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    await expect(createFactsWriter(failing(down))(fact('f2', 0))).rejects.toThrow('ECONNREFUSED');
  });
});

describe('GET /admin/analytics', () => {
  let app: FastifyInstance;
  let caller: Caller | undefined;

  beforeAll(async () => {
    app = Fastify();
    // The guard (core/security/guard.ts) sets the caller; here a hook stands in for it.
    app.addHook('onRequest', async (request) => {
      if (caller) request.caller = caller;
    });
    registerAnalyticsRoute(app, analytics, { abandonAfterMinutes: 30, now: () => new Date(T0 + 300 * MIN) });
    await write(fact('t-other', 0, { tenant: 'other' }));
  });

  afterAll(async () => {
    await app.close();
  });

  const get = (url: string) =>
    app.inject({ method: 'GET', url, remoteAddress: '127.0.0.1', headers: { host: 'localhost' } });

  it('answers the figures for the range, grouped as asked; today by default', async () => {
    const response = await get(
      '/admin/analytics?from=2026-11-02&to=2026-11-02&by=tenant,channel&tenant=acme',
    );
    expect(response.statusCode, response.body).toBe(200);
    const body = response.json();
    expect(body.from).toBe('2026-11-02');
    expect(body.figures.every((f: { key: { tenant: string } }) => f.key.tenant === 'acme')).toBe(true);
    expect(
      body.figures.find((f: { key: { channel: string } }) => f.key.channel === 'telegram').conversations,
    ).toBeGreaterThan(0);
    const today = (await get('/admin/analytics')).json();
    expect(today).toEqual({ from: '2026-11-02', to: '2026-11-02', figures: expect.any(Array) });
  });

  it('refuses a malformed day, an unknown dimension, a reversed or too long range, an unknown parameter', async () => {
    for (const query of [
      'from=2026-1-2',
      'by=customer',
      'from=2026-11-03&to=2026-11-02',
      'from=2025-01-01&to=2026-11-02',
      'text=x',
    ]) {
      const response = await get(`/admin/analytics?${query}`);
      expect(response.statusCode, query).toBe(400);
      expect(response.json().error.code).toBe('admin.invalid_query');
    }
  });

  it('shows an operator scoped to some tenants only theirs', async () => {
    caller = { kind: 'operator', id: 'o1', name: 'Ana', role: 'analyst', tenants: ['other'] };
    try {
      const body = (await get('/admin/analytics?from=2026-11-02&by=tenant')).json();
      expect(body.figures.map((f: { key: { tenant: string } }) => f.key.tenant)).toEqual(['other']);
    } finally {
      caller = undefined;
    }
  });
});
