import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStore, type KyselyStore } from '../../core/store';
import { conversationLookup } from '../../core/store/rows';
import { exportTrainingSet, maskPii, toExample } from '../../core/training/export';
import type { ConversationRef, InboundEvent, OutboundMessage } from '../../core/types';

let store: KyselyStore;
let dir: string;
const now = new Date('2026-03-01T12:00:00Z');
const minutesAgo = (m: number) => new Date(now.getTime() - m * 60_000).toISOString();

function ref(conversation: string): ConversationRef {
  return { channel: 'rest', tenant: 'acme', conversation };
}
async function inbound(conversation: string, id: string, text: string, at: string): Promise<void> {
  const event: InboundEvent = {
    id,
    kind: 'message',
    ref: ref(conversation),
    sender: { id: conversation },
    receivedAt: at,
    text,
    addressedToBot: true,
    raw: {},
  };
  await store.recordInbound(event);
}
async function outbound(conversation: string, id: string, text: string, at: string, inReplyTo?: string) {
  const message: OutboundMessage = {
    id,
    ref: ref(conversation),
    inReplyTo,
    content: { type: 'text', text },
    createdAt: at,
  };
  await store.recordOutbound(message);
}

beforeAll(async () => {
  store = await createStore({ database: { driver: 'pglite', dataDir: 'memory://' } });
  dir = mkdtempSync(join(tmpdir(), 'hub-export-'));
  // Resolved: answered, idle for two hours.
  await inbound(
    'alice',
    'a1',
    'Hi, my order AB00000001 has not arrived. Call me on +44 20 7946 0958.',
    minutesAgo(130),
  );
  await outbound(
    'alice',
    'a1#0',
    'Sorry about that! Order AB00000001 left the warehouse yesterday.',
    minutesAgo(129),
    'a1',
  );
  await inbound('alice', 'a2', 'Thanks. Please mail alice.smith@example.co.uk too.', minutesAgo(125));
  await inbound('alice', 'a3', 'Or 020 7946 0959', minutesAgo(124));
  await outbound('alice', 'a3#0', 'Done, you will get an e-mail.', minutesAgo(120), 'a3');
  // Still active (10 minutes ago): not finished yet.
  await inbound('bob', 'b1', 'Where is my refund?', minutesAgo(12));
  await outbound('bob', 'b1#0', 'Refunds take five working days.', minutesAgo(10), 'b1');
  // Never answered.
  await inbound('carol', 'c1', 'Hello?', minutesAgo(300));
  // Handed to a human: a ticket request exists.
  await inbound('dave', 'd1', 'I want to complain.', minutesAgo(400));
  await outbound('dave', 'd1#0', 'I have opened a ticket for you.', minutesAgo(399), 'd1');
  // Conversation keys are stored as their keyed hash.
  await sql`insert into ticket_requests (id, dedupe_key, conversation_key, tenant, adapter, draft)
            values ('HUB-1', 'd1', ${conversationLookup(store.atRest, 'rest:acme:dave')}, 'acme', 'demo', '{}'::jsonb)`.execute(
    store.db,
  );
  // Old: resolved but before --since.
  await inbound('erin', 'e1', 'Do you ship to Norway?', minutesAgo(60 * 24 * 40));
  await outbound('erin', 'e1#0', 'Yes, in 3-5 days.', minutesAgo(60 * 24 * 40 - 1), 'e1');
});

afterAll(async () => {
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('training export', () => {
  it('masks e-mails, phone numbers and order ids but keeps ordinary numbers', () => {
    expect(maskPii('Order CN20261101, mail bob@shop.example, phone +49 (30) 1234-5678.')).toBe(
      'Order <order_id>, mail <email>, phone <phone>.',
    );
    expect(
      maskPii('card 4111 1111 1111 1111 CVV 987, IBAN GB82WEST12345698765432, 身份证 11010519491231002X'),
    ).toBe('card <card> CVV <cvv>, IBAN <iban>, 身份证 <id>');
    expect(maskPii('Delivery takes 3-5 days and costs 9.90 in 2026.')).toBe(
      'Delivery takes 3-5 days and costs 9.90 in 2026.',
    );
  });

  it('joins consecutive same-side messages and drops a leading reply and a trailing question', () => {
    const example = toExample(
      [
        { direction: 'out', text: 'Welcome!' },
        { direction: 'in', text: 'a' },
        { direction: 'in', text: 'b' },
        { direction: 'out', text: 'c' },
        { direction: 'in', text: 'unanswered' },
      ],
      'sys',
    );
    expect(example?.messages).toEqual([
      { role: 'system', content: 'sys' },
      { role: 'user', content: 'a\nb' },
      { role: 'assistant', content: 'c' },
    ]);
    expect(toExample([{ direction: 'in', text: 'only a question' }])).toBeUndefined();
  });

  it('exports only resolved conversations as masked chat JSONL', async () => {
    const file = join(dir, 'all.jsonl');
    const count = await exportTrainingSet(store, file, { now, idleMinutes: 60 });
    const lines = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(count).toBe(2);
    expect(lines).toHaveLength(2);
    const [erin, alice] = lines;
    expect(erin.messages[0]).toEqual({ role: 'user', content: 'Do you ship to Norway?' });
    expect(alice.messages).toEqual([
      { role: 'user', content: 'Hi, my order <order_id> has not arrived. Call me on <phone>.' },
      { role: 'assistant', content: 'Sorry about that! Order <order_id> left the warehouse yesterday.' },
      { role: 'user', content: 'Thanks. Please mail <email> too.\nOr <phone>' },
      { role: 'assistant', content: 'Done, you will get an e-mail.' },
    ]);
    expect(readFileSync(file, 'utf8')).not.toMatch(/AB00000001|7946|example\.co\.uk|Hello\?|complain|refund/);
  });

  it('honours --since and a shorter idle window', async () => {
    const file = join(dir, 'recent.jsonl');
    const count = await exportTrainingSet(store, file, {
      now,
      idleMinutes: 5,
      since: new Date(minutesAgo(60 * 24)),
    });
    const text = readFileSync(file, 'utf8');
    expect(count).toBe(2); // alice and bob; erin is older than --since
    expect(text).toContain('Refunds take five working days.');
    expect(text).not.toContain('Norway');
  });
});
