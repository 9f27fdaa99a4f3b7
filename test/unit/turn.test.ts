import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { MemoryFeed } from '../../core/bus';
import { parseConfig } from '../../core/config/load';
import { DialogEngine } from '../../core/dialog/engine';
import { loadDialogKit } from '../../core/dialog/setup';
import { createTurnHandler } from '../../core/dialog/turn';
import { createKnowledge } from '../../core/rag';
import { MemoryStateStore } from '../../core/state';
import { createStore, type KyselyStore } from '../../core/store';
import type { DeliveryContext, DialogState, InboundEvent, OutboundMessage } from '../../core/types';

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
function message(text: string, conversation = `c-${++sequence}`): InboundEvent {
  return {
    id: `test:${conversation}:${++sequence}`,
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

function setup() {
  const states = new MemoryStateStore({ ttlMs: 60_000 });
  const feed = new MemoryFeed(`test-${sequence}`);
  const published: OutboundMessage[] = [];
  const delivered: OutboundMessage[] = [];
  const respond = vi.spyOn(engine, 'respond');
  respond.mockClear();
  return { states, feed, published, delivered, respond };
}

describe('a conversation turn', () => {
  it('stores the inbound message and one cited reply, then publishes and delivers it', async () => {
    const { states, feed, published, delivered } = setup();
    await feed.subscribe((m) => published.push(m));
    const handle = createTurnHandler({
      engine,
      states,
      store,
      feed,
      deliver: async (m) => void delivered.push(m),
    });
    const event = message('How do I return an item?');
    await handle(event, ctx());
    const replies = await store.repliesTo(event.id);
    expect(replies).toHaveLength(1);
    expect(replies[0]?.citations?.length).toBeGreaterThan(0);
    expect(published.map((m) => m.id)).toEqual([replies[0]?.id]);
    expect(delivered.map((m) => m.id)).toEqual([replies[0]?.id]);
    const state = (await states.load(`test:default:${event.ref.conversation}`)) as DialogState;
    expect(state.handledEventIds).toContain(event.id);
    expect(state.history.map((t) => t.role)).toEqual(['user', 'assistant']);
  });

  it('answers a redelivered event once: the engine is not asked again and the same reply is re-sent', async () => {
    const { states, feed, delivered, respond } = setup();
    const handle = createTurnHandler({
      engine,
      states,
      store,
      feed,
      deliver: async (m) => void delivered.push(m),
    });
    const event = message('怎么退货？');
    await handle(event, ctx(1));
    await handle(event, ctx(2));
    expect(respond).toHaveBeenCalledTimes(1);
    expect(await store.repliesTo(event.id)).toHaveLength(1);
    expect(new Set(delivered.map((m) => m.id)).size).toBe(1);
  });

  it('finishes the turn from the transcript when the worker died after storing the reply', async () => {
    const { states, feed, respond } = setup();
    const save = vi.spyOn(states, 'save').mockRejectedValueOnce(new Error('worker died here'));
    const handle = createTurnHandler({ engine, states, store, feed });
    const event = message('Can I get an invoice?');
    await expect(handle(event, ctx(1))).rejects.toThrow('worker died here');
    await handle(event, ctx(2));
    expect(respond).toHaveBeenCalledTimes(1);
    expect(save).toHaveBeenCalledTimes(2);
    const state = (await states.load(`test:default:${event.ref.conversation}`)) as DialogState;
    expect(state.handledEventIds).toEqual([event.id]);
    expect(state.history.map((t) => t.role)).toEqual(['user', 'assistant']);
    expect(await store.repliesTo(event.id)).toHaveLength(1);
  });

  it('does not answer events that are not messages, nor while a human owns the conversation', async () => {
    const { states, feed } = setup();
    const handle = createTurnHandler({ engine, states, store, feed });
    const joined: InboundEvent = {
      ...message(''),
      kind: 'membership',
      membership: { change: 'joined', memberIds: ['u'], botIncluded: false },
    };
    await handle(joined, ctx());
    expect(await store.repliesTo(joined.id)).toHaveLength(0);

    const owned = message('Hello?');
    const key = `test:default:${owned.ref.conversation}`;
    await states.save({
      conversationKey: key,
      slots: {},
      history: [],
      handoff: 'human',
      handledEventIds: [],
      updatedAt: new Date().toISOString(),
    });
    await handle(owned, ctx());
    expect(await store.repliesTo(owned.id)).toHaveLength(0);
    expect((await store.transcript(key)).map((e) => e.direction)).toEqual(['in']);
  });
});
