import { randomBytes } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AnalyticsStore, type TurnFact } from '../../core/analytics';
import { hubConfigSchema } from '../../core/config/schema';
import { registerConversationRoutes } from '../../core/console/conversations-routes';
import { knowledgePassages } from '../../core/console/passages';
import { recordTurn } from '../../core/security/audit';
import type { Caller } from '../../core/security/caller';
import type { KnowledgeChunk } from '../../core/types';
import { type ConversationRef, conversationKey } from '../../core/types/conversation';
import { openTestStore, type TestStore } from '../support/postgres';

/**
 * The conversation routes on rows written directly, on both databases: the outcome of each
 * conversation at a given time, the trace's passages through the lookup and masked for analysts.
 */

const NOW = Date.parse('2026-11-02T12:00:00Z');
const MIN = 60_000;
const PASSAGE_TEXT = 'Write to help@shop.example or call +49 30 1234567 for paper invoices.';

const supervisor: Caller = { kind: 'operator', id: 's1', name: 'Sue', role: 'supervisor', tenants: ['*'] };
const analyst: Caller = { kind: 'operator', id: 'a1', name: 'Ana', role: 'analyst', tenants: ['*'] };

describe.each(['pglite', 'postgres'] as const)('conversation routes on %s', (driver) => {
  let test: TestStore;
  let app: FastifyInstance;
  let caller: Caller = supervisor;
  let turn = 0;

  /** One customer turn `minutesAgo` before NOW, answered a second later, with its audit record and facts. */
  async function play(conversation: string, minutesAgo: number, fact: Partial<TurnFact> = {}) {
    const { store } = test;
    const analytics = new AnalyticsStore(store.db, 30, analyticsKey);
    const ref: ConversationRef = { channel: 'telegram', tenant: 'acme', conversation };
    const at = new Date(NOW - minutesAgo * MIN);
    const eventId = `evt-${driver}-${++turn}`;
    const customerId = await store.upsertCustomer({
      channel: 'telegram',
      tenant: 'acme',
      userId: conversation,
    });
    await store.recordInbound(
      {
        id: eventId,
        kind: 'message',
        ref,
        sender: { id: conversation },
        receivedAt: at.toISOString(),
        text: 'invoice?',
      },
      customerId,
    );
    await store.recordOutbound({
      id: `${eventId}#0`,
      ref,
      inReplyTo: eventId,
      content: { type: 'text', text: 'Here is how.' },
      citations: [{ id: 'invoices#paper', title: 'Paper invoices', source: 'invoices.md' }],
      source: 'extractive',
      createdAt: new Date(at.getTime() + 1000).toISOString(),
    });
    await recordTurn(store, {
      eventId,
      conversationKey: conversationKey(ref),
      channel: 'telegram',
      tenant: 'acme',
      intent: { name: 'faq', confidence: 0.9, tier: 'classifier' },
      decision: 'answer',
      retrieved: [
        { id: 'invoices#paper', score: 0.81 },
        { id: 'gone#chunk', score: 0.4 },
      ],
      actions: ['answer'],
      citations: ['invoices#paper'],
      source: 'extractive',
      replies: [`${eventId}#0`],
      latencyMs: 42,
      outcome: 'answered',
    });
    await analytics.record(
      {
        eventId,
        conversationKey: conversationKey(ref),
        tenant: 'acme',
        channel: 'telegram',
        customer: true,
        intent: 'faq',
        answerRan: true,
        unanswered: false,
        surveyAsked: false,
        handoff: false,
        withBotBefore: true,
        replies: 1,
        at,
        ...fact,
      },
      new Date(at.getTime() + 1000),
    );
  }
  const analyticsKey = randomBytes(32);

  beforeAll(async () => {
    test = await openTestStore(driver, 'hub_conv_routes');
    app = Fastify();
    app.addHook('onRequest', async (request) => {
      request.caller = caller;
    });
    const chunks = [
      { id: 'invoices#paper', docId: 'invoices', title: 'Paper invoices', text: PASSAGE_TEXT },
    ] as KnowledgeChunk[];
    registerConversationRoutes(app, test.store.db, {
      abandonAfterMinutes: 30,
      now: () => new Date(NOW),
      passages: knowledgePassages(hubConfigSchema.parse({}), { load: async () => chunks }),
    });
    await play('resolved', 150);
    await play('handed', 140, { handoff: true });
    await play('abandoned', 130, { awaiting: 'question' });
    await play('unanswered', 125, { unanswered: true });
    await play('unanswered', 120);
    await play('open', 5);
  }, 120_000);

  afterAll(async () => {
    await app?.close();
    await test?.dispose();
  });

  const get = async (url: string) => {
    const response = await app.inject({ method: 'GET', url });
    expect(response.statusCode, response.body).toBe(200);
    return response.json();
  };

  it('says what became of each conversation at the time asked, and filters by it', async () => {
    const { conversations } = await get('/admin/conversations');
    expect(conversations.map((c: { outcome: string }) => c.outcome)).toEqual([
      'open',
      'ended_unanswered',
      'abandoned',
      'handed_off',
      'bot_resolved',
    ]);
    for (const outcome of ['open', 'bot_resolved', 'handed_off', 'abandoned', 'ended_unanswered']) {
      const found = await get(`/admin/conversations?outcome=${outcome}`);
      expect(
        found.conversations.map((c: { outcome: string }) => c.outcome),
        outcome,
      ).toEqual([outcome]);
    }
  });

  it("names the trace's passages and masks their text for an analyst", async () => {
    const [open] = (await get('/admin/conversations?outcome=open')).conversations;
    caller = supervisor;
    const shown = await get(`/admin/conversations/${encodeURIComponent(open.id)}`);
    const trace = shown.lines[0].trace;
    expect(trace).toMatchObject({
      intent: { name: 'faq', confidence: 0.9 },
      decision: 'answer',
      latencyMs: 42,
      citations: [{ id: 'invoices#paper', title: 'Paper invoices' }],
    });
    expect(trace.retrieved).toEqual([
      { id: 'invoices#paper', score: 0.81, title: 'Paper invoices', text: PASSAGE_TEXT },
      { id: 'gone#chunk', score: 0.4 },
    ]);
    expect(shown.lines.map((line: { who: string }) => line.who)).toEqual(['customer', 'bot']);
    caller = analyst;
    try {
      const masked = await get(`/admin/conversations/${encodeURIComponent(open.id)}`);
      const text = masked.lines[0].trace.retrieved[0].text;
      expect(text).not.toContain('help@shop.example');
      expect(text).not.toContain('1234567');
      expect(text).toContain('paper invoices');
    } finally {
      caller = supervisor;
    }
  });
});
