import { randomBytes } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AnalyticsStore,
  type Overview,
  overviewFigures,
  SystemMinutes,
  type TurnFact,
} from '../../core/analytics';
import { registerOverviewRoute } from '../../core/console/overview-route';
import { errors, turnFailures } from '../../core/metrics';
import type { Caller } from '../../core/security/caller';
import { openTestStore, type TestStore } from '../support/postgres';

/**
 * The console's overview on a scripted hour: turns with their latency written as the turn handler
 * writes them, failures flushed by two "processes", and every expected figure computed here from the
 * script with its own arithmetic, not by the code under test.
 */

const T0 = Date.parse('2026-11-02T08:00:00Z');
const MIN = 60_000;
const NOW = T0 + 59 * MIN + 30_000; // 08:59:30
const ABANDON_MIN = 30;

interface ScriptTurn {
  conversation: string;
  /** Minutes after T0 (fractions allowed). */
  at: number;
  latencyMs: number;
  tenant?: string;
  answerRan?: boolean;
  unanswered?: boolean;
  handoff?: boolean;
  llmFallback?: string;
  feedback?: 'helpful';
  csat?: number;
  awaiting?: 'question';
}

const script: ScriptTurn[] = [
  { conversation: 'c1', at: 1, latencyMs: 120, answerRan: true },
  { conversation: 'c1', at: 2, latencyMs: 80, feedback: 'helpful' },
  { conversation: 'c2', at: 5, latencyMs: 200, handoff: true },
  { conversation: 'c3', at: 10, latencyMs: 300, answerRan: true, unanswered: true },
  { conversation: 'c4', at: 12, latencyMs: 1500, answerRan: true, llmFallback: 'timeout' },
  { conversation: 'c4', at: 13, latencyMs: 60, csat: 4 },
  { conversation: 'c5', at: 50, latencyMs: 90, answerRan: true, awaiting: 'question' },
  { conversation: 'c6', at: 59 + 10 / 60, latencyMs: 110, answerRan: true },
  // Another tenant's, slow: never in acme's figures.
  { conversation: 'b1', at: 20, latencyMs: 5000, tenant: 'beta', answerRan: true },
  // Before the hour: in the day, not in the hour.
  { conversation: 'e1', at: -30, latencyMs: 700, answerRan: true },
];

let n = 0;
function factOf(turn: ScriptTurn): TurnFact {
  const tenant = turn.tenant ?? 'acme';
  return {
    eventId: `ov-${++n}`,
    conversationKey: `rest:${tenant}:${turn.conversation}`,
    tenant,
    channel: 'rest',
    customer: true,
    language: 'en',
    intent: turn.handoff ? 'human' : 'faq',
    confidence: 0.9,
    confidenceBucket: 9,
    decision: turn.handoff ? 'handoff:explicit' : 'flow',
    answerRan: turn.answerRan ?? false,
    unanswered: turn.unanswered ?? false,
    ...(turn.llmFallback ? { llmFallback: turn.llmFallback } : {}),
    ...(turn.feedback ? { feedback: turn.feedback } : {}),
    ...(turn.csat ? { csat: { score: turn.csat, scale: '1-5' } } : {}),
    ...(turn.awaiting ? { awaiting: turn.awaiting } : {}),
    surveyAsked: false,
    handoff: turn.handoff ?? false,
    withBotBefore: true,
    replies: 1,
    latencyMs: turn.latencyMs,
    at: new Date(T0 + turn.at * MIN),
  };
}

/** percentile_cont: linear interpolation between the closest ranks. */
function percentile(values: number[], p: number): number | null {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = p * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  const [lo, hi] = [sorted[low] as number, sorted[high] as number];
  return lo + (hi - lo) * (rank - low);
}

/** What the README's definitions give for the script's conversations of `tenant` started in [from, to]. */
function expectedBusiness(tenant: string, fromMin: number, toMin: number) {
  const byConversation = new Map<string, ScriptTurn[]>();
  for (const turn of script) {
    if ((turn.tenant ?? 'acme') !== tenant) continue;
    byConversation.set(turn.conversation, [...(byConversation.get(turn.conversation) ?? []), turn]);
  }
  let conversations = 0;
  let contained = 0;
  let handedOff = 0;
  let abandoned = 0;
  const ratings: number[] = [];
  for (const turns of byConversation.values()) {
    const first = turns[0] as ScriptTurn;
    if (first.at < fromMin || first.at > toMin) continue;
    conversations++;
    const last = turns[turns.length - 1] as ScriptTurn;
    const ended = (NOW - (T0 + last.at * MIN)) / MIN >= ABANDON_MIN;
    const handed = turns.some((t) => t.handoff);
    const lastWithoutRating = [...turns].reverse().find((t) => !t.csat) ?? last;
    if (handed) handedOff++;
    else if (ended && (lastWithoutRating.unanswered || lastWithoutRating.awaiting)) abandoned++;
    else if (ended && !turns.some((t) => t.unanswered)) contained++;
    for (const t of turns) if (t.csat) ratings.push(t.csat);
  }
  return {
    conversations,
    contained,
    handedOff,
    abandoned,
    containmentRate: contained / (contained + handedOff + abandoned),
    csat: ratings.length ? ratings.reduce((a, b) => a + b, 0) / ratings.length : null,
  };
}

/** One step of the window's series. */
function step(overview: Overview, index: number) {
  const found = overview.systemSeries[index];
  if (!found) throw new Error(`no step ${index} of ${overview.systemSeries.length}`);
  return found;
}

describe.each(['pglite', 'postgres'] as const)('the console overview (%s)', (driver) => {
  let test: TestStore;
  let analytics: AnalyticsStore;
  let hour: Overview;
  const acmeHour = script.filter((t) => (t.tenant ?? 'acme') === 'acme' && t.at >= 0);

  beforeAll(async () => {
    test = await openTestStore(driver, 'hub_overview');
    analytics = new AnalyticsStore(test.store.db, ABANDON_MIN, randomBytes(32));
    for (const turn of script) {
      const fact = factOf(turn);
      await analytics.record(fact, new Date(fact.at.getTime() + turn.latencyMs));
    }
    // Two processes' flushers; the minutes' counts add up whichever writes first.
    let clock = T0 + 30 * MIN + 5_000;
    const api = new SystemMinutes(analytics, () => clock);
    const worker = new SystemMinutes(analytics, () => clock);
    await api.baseline();
    await worker.baseline();
    turnFailures.inc({ tenant: 'acme', channel: 'rest', verdict: 'retry' }, 2);
    turnFailures.inc({ tenant: 'acme', channel: 'rest', verdict: 'dead' });
    turnFailures.inc({ tenant: 'acme', channel: 'rest', verdict: 'outage' }, 5);
    turnFailures.inc({ tenant: 'beta', channel: 'rest', verdict: 'retry' }, 4);
    errors.inc({ stage: 'test', code: 'overview.test' }, 3);
    clock = T0 + 31 * MIN + 200;
    await api.flush();
    await worker.flush();
    hour = await overviewFigures(analytics, { window: 'hour', tenant: 'acme' }, new Date(NOW), ABANDON_MIN);
  }, 120_000);

  afterAll(async () => {
    await test?.dispose();
  });

  it('gives turns per second, p50/p99 latency and the fallback rate of the hour', () => {
    const latencies = acmeHour.map((t) => t.latencyMs);
    const windowSeconds = (NOW - T0) / 1000;
    expect(hour.from).toBe('2026-11-02T08:00:00.000Z');
    expect(hour.system.turns).toBe(acmeHour.length);
    expect(hour.system.qps).toBeCloseTo(acmeHour.length / windowSeconds, 9);
    expect(hour.system.liveQps).toBeCloseTo(
      acmeHour.filter((t) => NOW - (T0 + t.at * MIN) < MIN).length / 60,
      9,
    );
    expect(hour.system.latencyMs.p50).toBeCloseTo(percentile(latencies, 0.5) as number, 6);
    expect(hour.system.latencyMs.p99).toBeCloseTo(percentile(latencies, 0.99) as number, 6);
    const asked = acmeHour.filter((t) => t.answerRan).length;
    expect(hour.system.llmFallbacks).toBe(1);
    expect(hour.system.fallbackRate).toBeCloseTo(1 / asked, 9);
  });

  it('counts the failed attempts and dead letters of every process, outages apart, in the rate', () => {
    // Both flushers saw the same growth: 2 retried + 1 dead each.
    const failed = 2 * 3;
    expect(hour.system.failedAttempts).toBe(failed);
    expect(hour.system.deadLetters).toBe(2);
    expect(hour.system.errorRate).toBeCloseTo(failed / (acmeHour.length + failed), 9);
    // Named to no tenant: not in a view filtered to one.
    expect(hour.system.loggedErrors).toBeNull();
  });

  it('puts each turn and failure in its minute', () => {
    expect(hour.systemSeries).toHaveLength(60);
    expect(step(hour, 0).at).toBe('2026-11-02T08:00:00.000Z');
    expect(step(hour, 1)).toMatchObject({ turns: 1, latencyMs: { p50: 120, p99: 120 } });
    expect(step(hour, 12)).toMatchObject({ turns: 1, llmFallbacks: 1, fallbackRate: 1 });
    expect(step(hour, 30)).toMatchObject({
      turns: 0,
      failedAttempts: 6,
      deadLetters: 2,
      errorRate: 1,
    });
    expect(step(hour, 20).turns).toBe(0); // beta's
    expect(step(hour, 59).turns).toBe(1);
    // The last minute is half gone: its rate is over 30 s.
    expect(step(hour, 59).qps).toBeCloseTo(1 / 30, 9);
    const total = hour.systemSeries.reduce((sum, step) => sum + step.turns, 0);
    expect(total).toBe(acmeHour.length);
  });

  it('gives the business figures of the conversations started in the hour, and their hourly trend', () => {
    const expected = expectedBusiness('acme', 0, 60);
    expect(hour.business).toMatchObject({
      conversations: expected.conversations,
      contained: expected.contained,
      handedOff: expected.handedOff,
      abandoned: expected.abandoned,
      csat: { average: expected.csat, count: 1 },
      helpful: { yes: 1, no: 0, rate: 1 },
      dontKnow: 1,
      llmFallbacks: 1,
    });
    expect(hour.business.containmentRate).toBeCloseTo(expected.containmentRate, 9);
    expect(hour.businessTrend.step).toBe('hour');
    const byHour = Object.fromEntries(hour.businessTrend.figures.map((f) => [f.key.hour, f.conversations]));
    expect(byHour).toEqual({
      '2026-11-02T07:00Z': expectedBusiness('acme', -60, 0).conversations,
      '2026-11-02T08:00Z': expected.conversations,
    });
  });

  it('takes the day by hour, with the turn before the hour; logged errors for an unfiltered view of all tenants', async () => {
    const day = await overviewFigures(analytics, { window: 'day' }, new Date(NOW), ABANDON_MIN);
    expect(day.systemSeries).toHaveLength(24);
    expect(day.from).toBe('2026-11-01T09:00:00.000Z');
    expect(day.system.turns).toBe(script.length);
    expect(day.system.latencyMs.p99).toBeCloseTo(
      percentile(
        script.map((t) => t.latencyMs),
        0.99,
      ) as number,
      6,
    );
    expect(step(day, 22).turns).toBe(1); // 07:00–08:00
    // acme's and beta's failures from both flushers; the errors logged, twice as well.
    expect(day.system.failedAttempts).toBe(2 * (3 + 4));
    expect(day.system.loggedErrors).toBe(2 * 3);
    expect(day.businessTrend.step).toBe('day');
    expect(day.businessTrend.figures.map((f) => f.key.day)).toEqual(['2026-11-02']);
  });

  it('shows a scoped operator only their tenants', async () => {
    const beta = await overviewFigures(analytics, { window: 'hour', tenants: ['beta'] }, new Date(NOW), 30);
    expect(beta.system.turns).toBe(1);
    expect(beta.system.latencyMs.p50).toBe(5000);
    expect(beta.system.failedAttempts).toBe(2 * 4);
    expect(beta.business.conversations).toBe(1);
    const none = await overviewFigures(analytics, { window: 'hour', tenants: [] }, new Date(NOW), 30);
    expect(none.system.turns).toBe(0);
    expect(none.business.conversations).toBe(0);
    expect(none.system.latencyMs).toEqual({ p50: null, p99: null });
  });

  it('writes nothing for a minute without growth, and purges minutes past the week', async () => {
    const quiet = new SystemMinutes(analytics, () => NOW);
    await quiet.baseline();
    expect(await quiet.flush()).toBe(0);
    const later = new SystemMinutes(analytics, () => NOW + 9 * 86_400_000);
    await later.purge();
    const left = await analytics.db.selectFrom('system_minutes').select('minute').execute();
    expect(left).toEqual([]);
  });
});

describe('GET /admin/console/overview', () => {
  let test: TestStore;
  let app: FastifyInstance;
  let caller: Caller | undefined;

  beforeAll(async () => {
    test = await openTestStore('pglite');
    const analytics = new AnalyticsStore(test.store.db, ABANDON_MIN, randomBytes(32));
    for (const turn of script) {
      const fact = factOf(turn);
      await analytics.record(fact, new Date(fact.at.getTime() + turn.latencyMs));
    }
    app = Fastify();
    // The guard (core/security/guard.ts) sets the caller; here a hook stands in for it.
    app.addHook('onRequest', async (request) => {
      if (caller) request.caller = caller;
    });
    registerOverviewRoute(app, analytics, {
      abandonAfterMinutes: ABANDON_MIN,
      channels: [
        { id: 'rest', tenant: 'acme' },
        { id: 'chat-beta', tenant: 'beta' },
      ],
      now: () => new Date(NOW),
    });
  }, 120_000);

  afterAll(async () => {
    await app?.close();
    await test?.dispose();
  });

  const get = (url: string) =>
    app.inject({ method: 'GET', url, remoteAddress: '127.0.0.1', headers: { host: 'localhost' } });

  it('answers the hour by default, filtered by tenant and channel', async () => {
    const response = await get('/admin/console/overview?tenant=acme&channel=rest');
    expect(response.statusCode, response.body).toBe(200);
    const body = response.json();
    expect(body.window).toBe('hour');
    expect(body.choices.tenants).toEqual(['acme', 'beta']);
    expect(body.system.turns).toBe(script.filter((t) => !t.tenant && t.at >= 0).length);
    expect((await get('/admin/console/overview?channel=telegram')).json().system.turns).toBe(0);
    expect((await get('/admin/console/overview?window=day')).json().system.turns).toBe(script.length);
  });

  it('refuses an unknown window or parameter with 400', async () => {
    for (const query of ['window=week', 'from=2026-11-01', 'tenant=']) {
      const response = await get(`/admin/console/overview?${query}`);
      expect(response.statusCode, query).toBe(400);
      expect(response.json().error.code).toBe('admin.invalid_query');
    }
  });

  it('shows an operator scoped to some tenants only theirs', async () => {
    caller = { kind: 'operator', id: 'o1', name: 'Sue', role: 'supervisor', tenants: ['beta'] };
    try {
      const body = (await get('/admin/console/overview')).json();
      expect(body.system.turns).toBe(1);
      expect(body.system.loggedErrors).toBeNull();
      expect(body.choices).toEqual({ tenants: ['beta'], channels: [{ id: 'chat-beta', tenant: 'beta' }] });
    } finally {
      caller = undefined;
    }
  });
});
