import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AnalyticsStore, businessFigures, createFactsWriter, loadAnalyticsKey } from '../../core/analytics';
import { MemoryFeed } from '../../core/bus';
import type { TurnResult } from '../../core/dialog/engine';
import { createTurnHandler } from '../../core/dialog/turn';
import { createTurnWriter } from '../../core/dialog/turn-write';
import { MemoryStateStore } from '../../core/state';
import type { DeliveryContext, InboundEvent, OutboundMessage } from '../../core/types';
import { openTestStore, type TestStore } from '../support/postgres';
import { type ConversationScript, ScriptedConversation } from './harness';

/**
 * Business metrics on scripted conversations, end to end: the dialog engine through the turn
 * handler, the facts written beside the audit record, and the analytics query — whose figures must
 * equal what this test counts itself from the conversations it scripted and the traces the engine
 * gave back. On embedded PGlite and on PostgreSQL.
 */

const START = Date.parse('2026-11-02T02:00:00Z');
const MINUTE = 60_000;
const DAY = '2026-11-02';

const script: ConversationScript = {
  name: 'business metrics',
  config: { analytics: { abandonAfterMinutes: 30, csat: { enabled: true, scale: '1-5' } } },
  turns: [],
};
const fixtures = {
  knowledge: [
    {
      keywords: ['invoice'],
      zh: '可以开具电子发票，请在订单详情页申请。',
      en: 'Electronic invoices can be requested on the order page.',
    },
  ],
};

const ctx = (attempt = 1): DeliveryContext => ({
  attempt,
  fencingToken: attempt,
  signal: new AbortController().signal,
});

/** What the test itself knows of each customer turn: the delay it gives the reply, and the engine's trace. */
interface Ledger {
  conversation: string;
  responseMs: number;
  trace?: TurnResult['trace'];
  replies: OutboundMessage[];
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = p * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  return (sorted[low] as number) + ((sorted[high] as number) - (sorted[low] as number)) * (rank - low);
}

/** Facts through the writer hook, and inside the turn's one statement (core/dialog/turn-write.ts). */
describe.each([
  ['pglite', 'hook'],
  ['postgres', 'hook'],
  ['pglite', 'one statement'],
  ['postgres', 'one statement'],
] as const)('business metrics on scripted conversations (%s, %s)', (driver, path) => {
  let test: TestStore;
  let conversation: ScriptedConversation;
  let analytics: AnalyticsStore;
  let handle: ReturnType<typeof createTurnHandler>;
  let responseDelay = 0;
  let events = 0;
  const ledger: Ledger[] = [];
  const delivered: OutboundMessage[] = [];

  beforeAll(async () => {
    test = await openTestStore(driver, 'hub_metrics');
    conversation = await ScriptedConversation.create(fixtures, script);
    analytics = new AnalyticsStore(test.store.db, 30, await loadAnalyticsKey(test.store.db));
    const { engine } = conversation;
    const respond = engine.respond.bind(engine);
    // The engine's traces, kept by the test: the unknown-intent and "I don't know" counts come from them.
    engine.respond = async (event, state, options) => {
      const result = await respond(event, state, options);
      const entry = ledger.find((l) => l.trace === undefined && l.conversation === event.ref.conversation);
      if (entry) entry.trace = result.trace;
      return result;
    };
    handle = createTurnHandler({
      engine,
      states: new MemoryStateStore({ ttlMs: 24 * 60 * MINUTE }),
      store: test.store,
      feed: new MemoryFeed(`metrics-${driver}`),
      deliver: async (m) => void delivered.push(m),
      ...(path === 'hook'
        ? { facts: createFactsWriter(analytics, () => new Date(conversation.clock + responseDelay)) }
        : {
            write: createTurnWriter(test.store, {
              audit: true,
              analytics,
              now: () => new Date(conversation.clock + responseDelay),
            }),
          }),
    });
  });

  afterAll(async () => {
    await test?.dispose();
  });

  /** One customer turn at `minute` after the start; its reply `responseMs` later. */
  async function say(
    who: string,
    minute: number,
    input: { text?: string; tap?: string },
    responseMs = 500,
  ): Promise<OutboundMessage[]> {
    conversation.clock = START + minute * MINUTE;
    responseDelay = responseMs;
    const base = {
      id: `m-${++events}`,
      ref: { channel: 'test', tenant: 'default', conversation: who },
      sender: { id: `customer-${who}` },
      receivedAt: new Date(conversation.clock).toISOString(),
    };
    const event: InboundEvent = input.tap
      ? { ...base, kind: 'action', action: { id: input.tap, title: input.tap } }
      : { ...base, kind: 'message', text: input.text ?? '' };
    const entry: Ledger = { conversation: who, responseMs, replies: [] };
    ledger.push(entry);
    const before = delivered.length;
    await handle(event, ctx());
    // A redelivery of the same event writes no second fact and counts nothing twice.
    await handle(event, ctx(2));
    entry.replies = delivered.slice(before, before + 1);
    return entry.replies;
  }

  async function helpdesk(who: string, minute: number, change: 'solved'): Promise<OutboundMessage[]> {
    conversation.clock = START + minute * MINUTE;
    const before = delivered.length;
    await handle(
      {
        id: `h-${++events}`,
        kind: 'handoff',
        ref: { channel: 'test', tenant: 'default', conversation: who },
        sender: { id: 'agent:1' },
        receivedAt: new Date(conversation.clock).toISOString(),
        handoff: { adapter: 'demo', ticketId: '1', change },
      },
      ctx(),
    );
    return delivered.slice(before);
  }

  const text = (m: OutboundMessage | undefined) =>
    m?.content.type === 'text' || m?.content.type === 'choices' ? m.content.text : '';

  it('a contained FAQ conversation: "yes, it helped", then a 5 on the survey buttons', async () => {
    const [answer] = await say('contained', 0, { text: 'can I get an invoice?' }, 800);
    expect(text(answer)).toContain('Electronic invoices');
    expect(text(answer)).toContain('Did that answer your question');
    const [glad] = await say('contained', 1, { text: 'yes' });
    expect(text(glad)).toContain('Glad I could help');
    // The survey is the last reply: rendered as buttons, 1 to 5.
    expect(glad?.content.type).toBe('choices');
    if (glad?.content.type !== 'choices') throw new Error('no survey buttons');
    expect(glad.content.text).toContain('from 1 (poor) to 5 (excellent)');
    expect(glad.content.choices.map((c) => c.id)).toEqual(['csat:1', 'csat:2', 'csat:3', 'csat:4', 'csat:5']);
    const [thanks] = await say('contained', 2, { tap: 'csat:5' });
    expect(text(thanks)).toContain('Thank you for your feedback');
  });

  it('never asks the survey twice in one conversation', async () => {
    await say('contained', 4, { text: 'can I get an invoice?' });
    const [glad] = await say('contained', 5, { text: 'yes' });
    expect(text(glad)).toContain('Glad I could help');
    expect(glad?.content.type).toBe('text');
    expect(text(glad)).not.toContain('rate this conversation');
  });

  it('an unanswered question, then silence: abandoned', async () => {
    const [reply] = await say('abandoned', 3, { text: 'purple elephants dance quietly' }, 2000);
    expect(text(reply)).toMatch(/don't know|could not find/);
  });

  it('a handoff, solved by the helpdesk, then the survey answered in the same conversation', async () => {
    const [reply] = await say('handoff', 6, { text: 'can I just talk to a real person' }, 4000);
    expect(text(reply)).toContain('connecting you to a human agent');
    const back = await helpdesk('handoff', 20, 'solved');
    expect(back[0]?.content.type).toBe('choices');
    const [thanks] = await say('handoff', 21, { text: '2' });
    expect(text(thanks)).toContain('Thank you for your feedback');
  });

  it('the analytics query gives the figures the test counts itself', async () => {
    // While the conversations are fresh, the ones with the bot are still open.
    const early = await businessFigures(analytics, { from: DAY, to: DAY }, new Date(START + 25 * MINUTE), 30);
    expect(early).toHaveLength(1);
    expect(early[0]).toMatchObject({ conversations: 3, open: 2, handedOff: 1, contained: 0, abandoned: 0 });

    const now = new Date(START + 3 * 60 * MINUTE);
    const [total] = await businessFigures(analytics, { from: DAY, to: DAY, by: ['day'] }, now, 30);
    const customerTurns = ledger;
    const traces = customerTurns.map((l) => l.trace).filter((t) => t !== undefined);
    // A message a waiting flow took as its answer ("yes") needed no intent: not counted as unknown.
    const tookByFlow = (t: TurnResult['trace']) =>
      t.intent?.name === 'unknown' && t.decision?.type === 'flow';
    const recognized = traces.filter((t) => t.intent && !tookByFlow(t));
    const asked = traces.filter((t) => t.actions.some((a) => a.action === 'answer'));
    const dontKnow = traces.filter((t) => t.unanswered);
    const helpful = traces.filter((t) => t.signals.includes('helpful')).length;
    const unhelpful = traces.filter((t) => t.signals.includes('unhelpful')).length;
    const firstResponses = ['contained', 'abandoned', 'handoff'].map(
      (who) => ledger.find((l) => l.conversation === who)?.responseMs as number,
    );
    const histogram = Array.from({ length: 10 }, () => 0);
    for (const t of traces.filter((t) => t.intent)) {
      const bucket = Math.min(9, Math.floor((t.intent?.confidence ?? 0) * 10));
      histogram[bucket] = (histogram[bucket] ?? 0) + 1;
    }

    expect(dontKnow.length).toBe(1);
    expect(recognized.filter((t) => t.intent?.name === 'unknown')).toHaveLength(1);
    expect(helpful).toBe(2);
    expect(total).toEqual({
      key: { day: DAY },
      conversations: 3,
      open: 0,
      contained: 1,
      handedOff: 1,
      abandoned: 1,
      endedUnanswered: 0,
      containmentRate: 1 / 3,
      csat: { average: (5 + 2) / 2, count: 2 },
      helpful: { yes: helpful, no: unhelpful, rate: helpful / (helpful + unhelpful) },
      firstResponseMs: { p50: percentile(firstResponses, 0.5), p90: percentile(firstResponses, 0.9) },
      turns: customerTurns.length,
      unknownIntentRate: recognized.filter((t) => t.intent?.name === 'unknown').length / recognized.length,
      dontKnowRate: dontKnow.length / asked.length,
      dontKnow: dontKnow.length,
      llmFallbacks: 0,
      confidenceHistogram: histogram,
    });
  });

  it('splits by tenant, channel, language and intent, and filters', async () => {
    const now = new Date(START + 3 * 60 * MINUTE);
    const byIntent = await businessFigures(
      analytics,
      { from: DAY, to: DAY, by: ['tenant', 'intent'] },
      now,
      30,
    );
    const faq = byIntent.find((f) => f.key.intent === 'faq');
    expect(faq).toMatchObject({
      key: { tenant: 'default', intent: 'faq' },
      conversations: 1,
      contained: 1,
    });
    expect(byIntent.reduce((sum, f) => sum + f.conversations, 0)).toBe(3);
    const other = await businessFigures(analytics, { from: DAY, to: DAY, tenant: 'elsewhere' }, now, 30);
    expect(other).toEqual([]);
    const nextDay = await businessFigures(analytics, { from: '2026-11-03', to: '2026-11-03' }, now, 30);
    expect(nextDay).toEqual([]);
  });

  it('keeps no message text: ids, enums and numbers only', async () => {
    const rows = await analytics.db.selectFrom('turn_facts').selectAll().execute();
    const outcomes = await analytics.db.selectFrom('conversation_outcomes').selectAll().execute();
    const dump = JSON.stringify([rows, outcomes]);
    for (const words of ['invoice', 'purple', 'real person', 'customer-contained'])
      expect(dump).not.toContain(words);
    // The conversation is named by a keyed pseudonym: not the platform's id, nor its plain hash.
    expect(outcomes.every((o) => /^[0-9a-f]{32}$/.test(o.conversation_hash))).toBe(true);
    const hashes = outcomes.map((o) => o.conversation_hash);
    const plain = createHash('sha256').update('test:default:contained').digest('hex').slice(0, 32);
    expect(hashes).not.toContain(plain);
    expect(hashes).toContain(analytics.pseudonym('test:default:contained'));
    expect(rows).toHaveLength(ledger.length + 1); // the helpdesk update too
  });
});
