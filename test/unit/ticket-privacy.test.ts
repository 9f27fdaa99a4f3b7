import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createErp, erpConfigSchema } from '../../adapters/erp';
import { DemoTicketing, ticketingConfigSchema } from '../../adapters/ticketing';
import { openComment, openDraft, openSubject } from '../../adapters/ticketing/demo/at-rest';
import { hubConfigSchema } from '../../core/config/schema';
import { DialogCommands, SLOT_TICKET } from '../../core/dialog/commands';
import { emptyState } from '../../core/dialog/engine';
import { OrderAccess } from '../../core/orders/access';
import { createStore, type KyselyStore } from '../../core/store/index';
import { TicketCommentOutbox } from '../../core/tickets/comment-outbox';
import { TicketOutbox } from '../../core/tickets/outbox';
import { ticketDb } from '../../core/tickets/schema';
import { TicketService } from '../../core/tickets/service';
import { TicketDeliveryWorker } from '../../core/tickets/worker';
import type { InboundEvent } from '../../core/types';

/**
 * What the helpdesk receives (the demo helpdesk's own tables) after a customer wrote a phone
 * number and a card: placeholders in the subject, draft and comments; the verified identity only
 * in the ticket's customer fields. `ticketing.pii: clear` sends the words as written.
 */
let store: KyselyStore;
let seq = 0;

const RAW = [
  '13800138000',
  '138-0013-8000',
  '4111 1111 1111 1111',
  '4111111111111111',
  '5500000000000004',
  '987',
];

beforeAll(async () => {
  store = await createStore(hubConfigSchema.parse({ database: { dataDir: 'memory://' } }));
});
afterAll(async () => store?.close());

function rig(pii: 'masked' | 'clear') {
  const outbox = new TicketOutbox(store.db);
  const comments = new TicketCommentOutbox(store.db);
  const config = ticketingConfigSchema.parse({ driver: 'demo', pii });
  const worker = new TicketDeliveryWorker({
    outbox,
    comments,
    adapters: { demo: new DemoTicketing(ticketDb(store.db)) },
    config,
    random: () => 0.5,
  });
  const tickets = new TicketService({ outbox, comments, adapter: 'demo', pii: config.pii });
  return { tickets, worker };
}

async function helpdeskSees(conversation: string, pii: 'masked' | 'clear') {
  const { tickets, worker } = rig(pii);
  const commands = new DialogCommands({
    orders: new OrderAccess(await createErp(erpConfigSchema.parse({})), 1000),
    tickets,
    maxVerificationAttempts: 3,
    ticketOnErpFailure: false,
  });
  const ref = { channel: 'webchat', tenant: 'default', conversation };
  const event = (text: string, channelData?: Record<string, unknown>): InboundEvent => ({
    id: `tp${++seq}`,
    kind: 'message',
    ref,
    sender: { id: `u-${conversation}`, name: 'Alex' },
    receivedAt: new Date().toISOString(),
    text,
    channelData,
  });
  const state = emptyState(`webchat:default:${conversation}`);
  state.history = [
    {
      role: 'user',
      text: 'My card 4111 1111 1111 1111 CVV 987 was charged twice, call 138-0013-8000',
      at: '2026-12-06T10:00:00Z',
    },
    { role: 'assistant', text: 'Sorry to hear that.', at: '2026-12-06T10:00:01Z' },
  ];
  const text = 'human please, my number is 13800138000';
  await commands.handoff(
    {
      event: event(text, { verified: { email: 'alex@example.com' } }),
      text,
      language: 'en',
      state,
    },
    'customer_request',
  );
  const reference = state.slots[SLOT_TICKET] as string;
  await commands.forwardToTicket(event('and the other card 5500 0000 0000 0004 too, 13800138000'), state);
  await worker.runOnce();
  await worker.runOnce();
  const ticket = await sql<{
    id: string;
    idempotency_key: string;
    subject: string;
    draft: unknown;
  }>`select id::text as id, idempotency_key, subject, draft from demo_tickets where idempotency_key = ${reference}`.execute(
    store.db,
  );
  const sealed = ticket.rows[0];
  if (!sealed) throw new Error('the ticket was not delivered');
  const stored = await sql<{
    ticket_id: string;
    author: string;
    text: string;
  }>`select ticket_id::text as ticket_id, author, text from demo_ticket_comments where ticket_id = ${sealed.id} order by id`.execute(
    store.db,
  );
  // At rest, all of it is sealed; what the helpdesk sees is what it opens.
  expect(sealed.subject).toMatch(/^hub1\./);
  for (const comment of stored.rows) expect(comment.text).toMatch(/^hub1\./);
  const row = { id: sealed.id, subject: openSubject(store.atRest, sealed) };
  const comments = stored.rows.map((c) => ({ author: c.author, text: openComment(store.atRest, c) }));
  const draft = openDraft(store.atRest, sealed) as unknown as {
    subject: string;
    customer: { email?: string };
  };
  return { row: { ...row, draft }, draft, comments };
}

describe('tickets carry masked text', () => {
  it('keeps the phone and card out of the subject, draft and comments; the verified e-mail in its field', async () => {
    const { row, draft, comments } = await helpdeskSees('tp-masked', 'masked');
    expect(comments.map((c) => c.author)).toEqual(['bot', 'customer']);
    const seen = JSON.stringify({ row, comments });
    for (const raw of RAW) expect(seen).not.toContain(raw);
    expect(draft.subject).toContain('<PHONE_1>');
    expect(seen).toContain('<CARD_1>');
    expect(comments[1]?.text).toBe('and the other card <CARD_1> too, <PHONE_1>');
    expect(draft.customer.email).toBe('alex@example.com');
  });

  it('sends the words as written with ticketing.pii: clear, but never personal data in the subject', async () => {
    const { row, comments } = await helpdeskSees('tp-clear', 'clear');
    expect(row.subject).not.toContain('138-0013-8000');
    expect(row.subject).toContain('<PHONE_1>');
    expect(JSON.stringify(row.draft)).toContain('13800138000');
    expect(comments[1]?.text).toContain('5500 0000 0000 0004');
  });
});
