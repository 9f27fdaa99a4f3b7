import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { MemoryFeed } from '../../core/bus';
import { parseConfig } from '../../core/config/load';
import { DialogEngine } from '../../core/dialog/engine';
import { loadDialogKit } from '../../core/dialog/setup';
import { createTurnHandler } from '../../core/dialog/turn';
import { createKnowledge } from '../../core/rag';
import { recordTurn, TURN_ACTION, type TurnAuditRecord } from '../../core/security/audit';
import { MemoryStateStore } from '../../core/state';
import { createStore, type KyselyStore } from '../../core/store';
import type { DeliveryContext, InboundEvent } from '../../core/types';

/** Every handled event leaves exactly one tamper-evident record of what the bot did and why. */
const config = parseConfig({ database: { dataDir: 'memory://' } }, {});
let store: KyselyStore;
let engine: DialogEngine;

beforeAll(async () => {
  store = await createStore(config);
  const knowledge = await createKnowledge(config);
  engine = new DialogEngine({ config, retriever: knowledge.retriever, dialog: await loadDialogKit(config) });
});

afterAll(async () => {
  await store.close();
});

let sequence = 0;
function message(text: string): InboundEvent {
  const conversation = `audit-${++sequence}`;
  return {
    id: `test:${conversation}:${sequence}`,
    kind: 'message',
    ref: { channel: 'test', tenant: 'default', conversation },
    sender: { id: conversation },
    receivedAt: new Date().toISOString(),
    text,
  };
}

const ctx = (attempt = 1): DeliveryContext => ({
  attempt,
  fencingToken: attempt,
  signal: new AbortController().signal,
});

function handler(audit = (record: TurnAuditRecord) => recordTurn(store, record)) {
  const states = new MemoryStateStore({ ttlMs: 60_000 });
  return {
    states,
    handle: createTurnHandler({ engine, states, store, feed: new MemoryFeed(`audit-${sequence}`), audit }),
  };
}

async function turnRecords(event: InboundEvent) {
  const trail = await store.auditTrail({ subject: `test:default:${event.ref.conversation}` });
  return trail.filter((record) => record.action === TURN_ACTION);
}

describe('the audit record of a turn', () => {
  it('names the event, intent, decision, passages with scores, citations, latency and outcome', async () => {
    const { handle } = handler();
    const event = message('How do I return an item?');
    await handle(event, ctx());
    const [record, ...more] = await turnRecords(event);
    expect(more).toHaveLength(0);
    const replies = await store.repliesTo(event.id);
    expect(record).toMatchObject({ actor: 'bot', tenant: 'default' });
    const details = record?.details as Record<string, unknown> & {
      retrieved: Array<{ id: string; score: number }>;
    };
    expect(details).toMatchObject({
      eventId: event.id,
      channel: 'test',
      decision: expect.stringMatching(/^(answer|flow)$/),
      replies: replies.map((reply) => reply.id),
      citations: replies[0]?.citations?.map((citation) => citation.id),
      source: 'extractive',
      outcome: 'answered',
    });
    expect(details.intent).toMatchObject({ name: expect.any(String), confidence: expect.any(Number) });
    expect(details.actions).toContain('answer');
    expect(details.retrieved.length).toBeGreaterThan(0);
    expect(details.retrieved[0]).toEqual({ id: expect.any(String), score: expect.any(Number) });
    expect(details.latencyMs).toBeGreaterThanOrEqual(0);
    expect(await store.auditLog.verify()).toMatchObject({ ok: true });
  });

  it('is written once when the event is redelivered', async () => {
    const { handle } = handler();
    const event = message('怎么退货？');
    await handle(event, ctx(1));
    await handle(event, ctx(2));
    await handle(event, ctx(1));
    expect(await turnRecords(event)).toHaveLength(1);
  });

  it('is written by the redelivery when the first attempt died after storing the replies', async () => {
    const audit = vi
      .fn((record: TurnAuditRecord) => recordTurn(store, record))
      .mockRejectedValueOnce(new Error('worker died here'));
    const { handle } = handler(audit);
    const event = message('Can I get an invoice?');
    await expect(handle(event, ctx(1))).rejects.toThrow('worker died here');
    expect(await turnRecords(event)).toHaveLength(0);
    await handle(event, ctx(2));
    await handle(event, ctx(3));
    const records = await turnRecords(event);
    expect(records).toHaveLength(1);
    expect(records[0]?.details).toMatchObject({ eventId: event.id, outcome: 'recovered' });
  });

  it('is written once when the state save failed after the record', async () => {
    const { states, handle } = handler();
    vi.spyOn(states, 'save').mockRejectedValueOnce(new Error('state store down'));
    const event = message('Where is my order?');
    await expect(handle(event, ctx(1))).rejects.toThrow('state store down');
    await handle(event, ctx(2));
    const records = await turnRecords(event);
    expect(records).toHaveLength(1);
    expect(records[0]?.details).toMatchObject({ outcome: expect.stringMatching(/answered|silent/) });
  });
});
