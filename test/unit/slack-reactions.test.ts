import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Normalized } from '../../connectors/shared/normalized';
import { normalizeSlackEvent, type SlackIdentity } from '../../connectors/slack/normalize';
import type { SlackEnvelope } from '../../connectors/slack/wire';
import { MemoryFeed } from '../../core/bus';
import { parseConfig } from '../../core/config/load';
import { DialogEngine } from '../../core/dialog/engine';
import { loadDialogKit } from '../../core/dialog/setup';
import { createTurnHandler } from '../../core/dialog/turn';
import { EmbeddedRetriever } from '../../core/rag';
import { MemoryStateStore } from '../../core/state';
import { createStore, type KyselyStore } from '../../core/store';
import { conversationKey, type InboundEvent, type OutboundMessage } from '../../core/types';

const BOT = 'U00FAKEBOT01';
const USER = 'U00FAKEUSER1';
const IDENTITY: SlackIdentity = { channel: 'sl', tenant: 'acme', botUserId: BOT, botId: 'B00FAKEBOT01' };

/** The envelope of https://docs.slack.dev/reference/events/reaction_added/, with fake ids. */
function reactionEnvelope(event: Record<string, unknown>, eventId: string | null = 'Ev0REACT001') {
  return {
    token: 'FAKEverificationTOKEN000',
    team_id: 'T00FAKE00AA',
    api_app_id: 'A00FAKEAPP01',
    type: 'event_callback',
    ...(eventId ? { event_id: eventId } : {}),
    event_time: 1_767_000_100,
    authorizations: [{ team_id: 'T00FAKE00AA', user_id: BOT, is_bot: true }],
    event: {
      type: 'reaction_added',
      user: USER,
      reaction: 'thumbsup',
      item_user: BOT,
      item: { type: 'message', channel: 'D00FAKEDM001', ts: '1767000000.000100', channel_type: 'im' },
      event_ts: '1767000100.000200',
      ...event,
    },
  } as SlackEnvelope;
}

const normalize = (envelope: SlackEnvelope, identity = IDENTITY) =>
  normalizeSlackEvent(envelope, identity, '2026-01-01T00:00:00.000Z');

function eventOf(result: Normalized): InboundEvent {
  if ('ignored' in result) throw new Error(`ignored: ${result.ignored}`);
  return result.event;
}

describe('Slack reaction events', () => {
  it('reaction_added becomes a reaction on the reacted message, in its conversation', () => {
    const event = eventOf(normalize(reactionEnvelope({})));
    expect(event).toMatchObject({
      id: 'sl:Ev0REACT001',
      kind: 'reaction',
      ref: { channel: 'sl', tenant: 'acme', conversation: 'D00FAKEDM001' },
      sender: { id: USER },
      reaction: { name: 'thumbsup', messageId: '1767000000.000100', added: true },
      // A reaction to the bot's own answer.
      addressedToBot: true,
    });
    expect(event.ref.thread).toBeUndefined();
    expect(event.text).toBeUndefined();
    expect(event.channelData).toMatchObject({ slack: { team: 'T00FAKE00AA', type: 'reaction_added' } });
  });

  it('reaction_removed says so, and is another event than the addition', () => {
    const added = eventOf(normalize(reactionEnvelope({})));
    const removed = eventOf(normalize(reactionEnvelope({ type: 'reaction_removed' }, 'Ev0REACT002')));
    expect(removed).toMatchObject({
      kind: 'reaction',
      reaction: { name: 'thumbsup', messageId: '1767000000.000100', added: false },
    });
    expect(removed.id).not.toBe(added.id);
  });

  it('keys a reaction without event_id by message, user, emoji and direction', () => {
    const a = eventOf(normalize(reactionEnvelope({}, null)));
    const again = eventOf(normalize(reactionEnvelope({}, null)));
    const removed = eventOf(normalize(reactionEnvelope({ type: 'reaction_removed' }, null)));
    const other = eventOf(normalize(reactionEnvelope({ reaction: 'tada' }, null)));
    expect(again.id).toBe(a.id);
    expect(new Set([a.id, removed.id, other.id]).size).toBe(3);
  });

  it("ignores the bot's own reactions, whether the bot id is configured or learned from the envelope", () => {
    expect(normalize(reactionEnvelope({ user: BOT }))).toEqual({ ignored: 'own_echo' });
    const learning = { channel: 'sl', tenant: 'acme' };
    expect(normalize(reactionEnvelope({ user: BOT }), learning)).toEqual({ ignored: 'own_echo' });
    expect('event' in normalize(reactionEnvelope({}), learning)).toBe(true);
  });

  it('ignores reactions to files and malformed reaction events', () => {
    expect(normalize(reactionEnvelope({ item: { type: 'file', file: 'F00FAKEFILE1' } }))).toEqual({
      ignored: 'reaction_not_on_message',
    });
    expect(normalize(reactionEnvelope({ item: undefined }))).toEqual({ ignored: 'malformed' });
    expect(normalize(reactionEnvelope({ reaction: undefined }))).toEqual({ ignored: 'malformed' });
    expect(normalize(reactionEnvelope({ item: { type: 'message', channel: 'C1' } }))).toEqual({
      ignored: 'malformed',
    });
  });
});

describe('a Slack reaction in a conversation turn', () => {
  const config = parseConfig({ database: { dataDir: 'memory://' } }, {});
  let store: KyselyStore;
  let engine: DialogEngine;

  beforeAll(async () => {
    store = await createStore(config);
    // No knowledge: the question gets the don't-know answer, which is a reply all the same.
    engine = new DialogEngine({
      config,
      retriever: new EmbeddedRetriever(),
      dialog: await loadDialogKit(config),
    });
  });

  afterAll(async () => {
    await store.close();
  });

  it('is kept in the transcript and gets no reply, while a message in the same conversation does', async () => {
    const states = new MemoryStateStore({ ttlMs: 60_000 });
    const feed = new MemoryFeed('slack-reactions');
    const delivered: OutboundMessage[] = [];
    const handle = createTurnHandler({
      engine,
      states,
      store,
      feed,
      deliver: async (message) => {
        delivered.push(message);
      },
    });
    const ctx = { attempt: 1, fencingToken: 1, signal: new AbortController().signal };
    const reaction = eventOf(normalize(reactionEnvelope({}, 'Ev0REACTTURN')));
    await handle(reaction, ctx);
    expect(await store.repliesTo(reaction.id)).toHaveLength(0);
    expect(delivered).toHaveLength(0);

    const question: InboundEvent = {
      id: 'sl:D00FAKEDM001:1767000200.000100',
      kind: 'message',
      ref: reaction.ref,
      sender: { id: USER },
      receivedAt: new Date().toISOString(),
      text: 'How long does standard shipping take?',
      addressedToBot: true,
    };
    await handle(question, ctx);
    expect(await store.repliesTo(question.id)).toHaveLength(1);
    expect(delivered.map((m) => m.id)).toEqual([`${question.id}#0`]);
    const transcript = await store.transcript(conversationKey(reaction.ref));
    expect(transcript.filter((e) => e.direction === 'in').map((e) => e.id)).toEqual([
      reaction.id,
      question.id,
    ]);
    await feed.close();
    await states.close();
  });
});
