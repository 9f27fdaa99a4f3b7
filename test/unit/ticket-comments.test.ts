import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DemoTicketing, ServiceNowTicketing, ticketingConfigSchema } from '../../adapters/ticketing';
import { hubConfigSchema } from '../../core/config/schema';
import { createStore, type KyselyStore } from '../../core/store/index';
import { TicketCommentOutbox } from '../../core/tickets/comment-outbox';
import { customerCommentText } from '../../core/tickets/customer-comment';
import { TicketOutbox } from '../../core/tickets/outbox';
import { ticketDb } from '../../core/tickets/schema';
import { TicketService } from '../../core/tickets/service';
import { TicketDeliveryWorker } from '../../core/tickets/worker';
import {
  AdapterError,
  AdapterErrorCodes,
  type InboundEvent,
  type TicketComment,
  type TicketingAdapter,
} from '../../core/types';
import { startServiceNowEmulator } from '../emulators/servicenow-emulator';
import { scratchDatabase } from '../support/postgres';
import { draft } from '../support/ticket-draft';

/**
 * The comment outbox on the real PostgreSQL server: what a customer writes while an agent owns the
 * conversation reaches the ticket once per event, in order, only after the ticket exists, and
 * survives a worker that dies mid-delivery.
 */
const config = ticketingConfigSchema.parse({
  outbox: { pollMs: 20, maxAttempts: 3, backoffMs: 10, maxBackoffMs: 50, leaseMs: 5_000 },
  breaker: { failureThreshold: 50, resetMs: 60_000 },
  timeoutMs: 1_500,
});

const database = scratchDatabase('hub_comments');

let store: KyselyStore;
let outbox: TicketOutbox;
let comments: TicketCommentOutbox;
let demo: DemoTicketing;

/** The demo helpdesk, with faults to inject into createTicket and addComment. */
class FaultyDesk implements TicketingAdapter {
  readonly name = 'demo';
  createFailures: Error[] = [];
  commentFailures: Error[] = [];
  statusFailures: Error[] = [];
  commentCalls: string[] = [];
  statusCalls: string[] = [];
  constructor(private readonly inner: DemoTicketing) {}
  createTicket: TicketingAdapter['createTicket'] = async (d, ctx) => {
    const failure = this.createFailures.shift();
    if (failure) throw failure;
    return this.inner.createTicket(d, ctx);
  };
  addComment: TicketingAdapter['addComment'] = async (id, comment, ctx) => {
    this.commentCalls.push(ctx.idempotencyKey);
    const failure = this.commentFailures.shift();
    if (failure) throw failure;
    return this.inner.addComment(id, comment, ctx);
  };
  getTicket: TicketingAdapter['getTicket'] = (id, ctx) => this.inner.getTicket(id, ctx);
  setStatus: TicketingAdapter['setStatus'] = async (id, status, ctx) => {
    this.statusCalls.push(`${ctx.idempotencyKey}=${status}`);
    const failure = this.statusFailures.shift();
    if (failure) throw failure;
    return this.inner.setStatus(id, status, ctx);
  };
}

const unavailable = () =>
  new AdapterError(AdapterErrorCodes.unavailable, 'helpdesk answered 503', { retryable: true, status: 503 });

function event(id: string, text: string, extra: Partial<InboundEvent> = {}): InboundEvent {
  return {
    id,
    kind: 'message',
    ref: { channel: 'webchat', tenant: 'default', conversation: 'c1' },
    sender: { id: 'u1' },
    receivedAt: new Date().toISOString(),
    text,
    ...extra,
  };
}

function workerFor(adapter: TicketingAdapter) {
  return new TicketDeliveryWorker({
    outbox,
    comments,
    adapters: { demo: adapter },
    config,
    random: () => 0.5,
  });
}

async function openTicket(key: string = randomUUID()) {
  const { request } = await outbox.enqueue({
    dedupeKey: key,
    conversationKey: 'webchat:default:c1',
    tenant: 'default',
    adapter: 'demo',
    draft: draft(),
  });
  return request;
}

/** The customer's comments on the demo ticket, oldest first. */
async function customerComments(requestId: string): Promise<TicketComment[]> {
  const externalId = (await outbox.get(requestId))?.externalId;
  if (!externalId) return [];
  const ticket = await demo.getTicket(externalId, { tenant: 'default', idempotencyKey: 'read' });
  return (ticket?.comments ?? []).filter((c) => c.author === 'customer');
}

/** Passes until nothing is left to deliver (each pass takes one comment per ticket). */
async function drain(worker: TicketDeliveryWorker, passes = 10) {
  for (let i = 0; i < passes; i++) {
    await sql`update ticket_comments set next_attempt_at = now() where delivered_at is null`.execute(
      ticketDb(store.db),
    );
    await sql`update ticket_outbox set next_attempt_at = now() where delivered_at is null`.execute(
      ticketDb(store.db),
    );
    await worker.runOnce();
  }
}

beforeAll(async () => {
  await database.create();
  store = await createStore(hubConfigSchema.parse({ database: { driver: 'postgres', url: database.url } }));
  outbox = new TicketOutbox(store.db);
  comments = new TicketCommentOutbox(store.db);
  demo = new DemoTicketing(ticketDb(store.db));
});

afterAll(async () => {
  await store?.close();
  await database.drop();
});

beforeEach(async () => {
  await sql`truncate ticket_requests, ticket_outbox, ticket_comments, demo_tickets, demo_ticket_comments cascade`.execute(
    ticketDb(store.db),
  );
});

describe('customer comments on an open ticket', () => {
  it('adds each inbound event once, however often the turn runs', async () => {
    const request = await openTicket();
    const service = new TicketService({ outbox, comments, adapter: 'demo' });
    expect(await service.addCustomerMessage(request.id, event('e-1', 'Any news?'))).toBe(true);
    // The bus redelivers the event; the turn runs again.
    expect(await service.addCustomerMessage(request.id, event('e-1', 'Any news?'))).toBe(true);
    expect(await comments.pending()).toBe(1);

    const desk = new FaultyDesk(demo);
    await drain(workerFor(desk));
    expect((await customerComments(request.id)).map((c) => [c.text, c.public])).toEqual([
      ['Any news?', true],
    ]);
    expect(desk.commentCalls).toEqual(['e-1']);
    expect(await comments.pending()).toBe(0);
  });

  it('waits for the ticket to reach the helpdesk before commenting on it', async () => {
    const request = await openTicket();
    await comments.enqueue({
      requestId: request.id,
      eventId: 'e-w',
      author: 'customer',
      body: 'Hello?',
      public: true,
    });
    const desk = new FaultyDesk(demo);
    desk.createFailures.push(unavailable(), unavailable());
    const worker = workerFor(desk);

    await worker.runOnce();
    await worker.runOnce(); // the ticket's retry is not due yet: its backoff runs
    expect(desk.commentCalls).toEqual([]);
    expect(await comments.claim(10, 1_000)).toEqual([]);

    await drain(worker);
    expect((await outbox.get(request.id))?.externalId).toBeTruthy();
    expect((await customerComments(request.id)).map((c) => c.text)).toEqual(['Hello?']);
  });

  it('keeps the order the customer wrote in, also when one delivery has to be retried', async () => {
    const first = await openTicket('t1');
    const second = await openTicket('t2');
    for (const [i, text] of ['one', 'two', 'three'].entries()) {
      await comments.enqueue({
        requestId: first.id,
        eventId: `a-${i}`,
        author: 'customer',
        body: text,
        public: true,
      });
      await comments.enqueue({
        requestId: second.id,
        eventId: `b-${i}`,
        author: 'customer',
        body: text,
        public: true,
      });
    }
    const desk = new FaultyDesk(demo);
    const worker = workerFor(desk);
    await worker.runOnce(); // both tickets delivered, then the head comment of each
    desk.commentFailures.push(unavailable()); // the next comment of the first ticket fails once
    await drain(worker);

    for (const request of [first, second]) {
      expect((await customerComments(request.id)).map((c) => c.text)).toEqual(['one', 'two', 'three']);
    }
    // The failed one was retried before anything after it went out.
    const firstTicketCalls = desk.commentCalls.filter((k) => k.startsWith('a-'));
    expect(firstTicketCalls).toEqual(['a-0', 'a-1', 'a-1', 'a-2']);
  });

  it('a worker that dies after the helpdesk took the comment: the restarted one adds nothing twice', async () => {
    const request = await openTicket();
    const desk = new FaultyDesk(demo);
    await workerFor(desk).runOnce();
    await comments.enqueue({
      requestId: request.id,
      eventId: 'e-c',
      author: 'customer',
      body: 'Still there?',
      public: true,
    });
    await comments.enqueue({
      requestId: request.id,
      eventId: 'e-d',
      author: 'customer',
      body: 'Hello?',
      public: true,
    });

    // The first worker claims, the helpdesk writes the comment, the process dies before recording it.
    const [claimed] = await comments.claim(10, 1_000);
    expect(claimed?.eventId).toBe('e-c');
    await desk.addComment(claimed?.externalId ?? '', claimed?.comment as TicketComment, {
      tenant: 'default',
      idempotencyKey: claimed?.eventId ?? '',
    });
    // Its lease still holds: nobody else takes the comment, nor the one after it.
    expect(await comments.claim(10, 100)).toEqual([]);

    await new Promise((resolve) => setTimeout(resolve, 1_050));
    await drain(workerFor(desk));
    expect((await customerComments(request.id)).map((c) => c.text)).toEqual(['Still there?', 'Hello?']);
    expect(await comments.pending()).toBe(0);
  });

  it('a worker that dies between enqueue and delivery: the next one delivers once', async () => {
    const request = await openTicket();
    const service = new TicketService({ outbox, comments, adapter: 'demo' });
    await service.addCustomerMessage(request.id, event('e-r', 'Order XX12345678 arrived broken'));
    // No worker ran; a fresh one starts as after a restart, and polls on its own.
    const worker = workerFor(new FaultyDesk(demo));
    worker.start();
    try {
      const deadline = Date.now() + 10_000;
      while ((await customerComments(request.id)).length === 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    } finally {
      await worker.stop();
    }
    expect((await customerComments(request.id)).map((c) => c.text)).toEqual([
      'Order XX12345678 arrived broken',
    ]);
  });

  it('dead-letters a refused comment without blocking the next, and replays it', async () => {
    const request = await openTicket();
    const desk = new FaultyDesk(demo);
    const worker = workerFor(desk);
    await worker.runOnce();
    await comments.enqueue({
      requestId: request.id,
      eventId: 'e-x',
      author: 'customer',
      body: 'first',
      public: true,
    });
    await comments.enqueue({
      requestId: request.id,
      eventId: 'e-y',
      author: 'customer',
      body: 'second',
      public: true,
    });
    desk.commentFailures.push(
      new AdapterError(AdapterErrorCodes.invalid, 'helpdesk refused the comment (422)', { retryable: false }),
    );
    await drain(worker);

    const dead = await comments.deadLetters();
    expect(dead.map((d) => [d.requestId, d.eventId, d.lastError])).toEqual([
      [request.id, 'e-x', 'helpdesk refused the comment (422)'],
    ]);
    expect((await customerComments(request.id)).map((c) => c.text)).toEqual(['second']);

    expect(await comments.replay([request.id])).toBe(1);
    await drain(worker);
    expect(await comments.deadLetters()).toEqual([]);
    expect((await customerComments(request.id)).map((c) => c.text)).toEqual(['second', 'first']);
  });

  it("a cancelled handoff: the bot's internal note, then the ticket solved, each once despite a failed status call", async () => {
    const request = await openTicket();
    const service = new TicketService({ outbox, comments, adapter: 'demo' });
    const cancel = event('e-cancel', 'never mind, call me on 13800138000 instead');
    expect(await service.noteHandoffCancelled(request.id, cancel)).toBe(true);
    // The turn runs again (a redelivery): still one note.
    expect(await service.noteHandoffCancelled(request.id, cancel)).toBe(true);
    expect(await comments.pending()).toBe(1);

    const desk = new FaultyDesk(demo);
    desk.statusFailures.push(unavailable());
    await drain(workerFor(desk));
    const externalId = (await outbox.get(request.id))?.externalId as string;
    const ticket = await demo.getTicket(externalId, { tenant: 'default', idempotencyKey: 'read' });
    expect(ticket?.status).toBe('solved');
    const notes = (ticket?.comments ?? []).filter((c) =>
      c.text.includes('cancelled the request for a person'),
    );
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatchObject({ author: 'bot', public: false });
    // ticketing.pii is masked by default: the customer's words are quoted with placeholders.
    expect(notes[0]?.text).toContain('"never mind, call me on <PHONE_1> instead"');
    // The retry read the note back instead of adding it twice, then set the status again.
    expect(desk.commentCalls).toEqual(['e-cancel:handoff-cancelled']);
    expect(desk.statusCalls).toEqual([
      'e-cancel:handoff-cancelled:status=solved',
      'e-cancel:handoff-cancelled:status=solved',
    ]);
    expect(await comments.pending()).toBe(0);
  });

  it('forwards nothing for an unknown ticket reference', async () => {
    const service = new TicketService({ outbox, comments, adapter: 'demo' });
    expect(await service.addCustomerMessage('HUB-NOSUCH00', event('e-u', 'hello'))).toBe(false);
    expect(await comments.pending()).toBe(0);
  });

  it('an HTTP helpdesk that commits the comment and never answers: the retry reads it back', async () => {
    const emulator = await startServiceNowEmulator({ username: 'u', password: 'p' });
    try {
      const adapter = new ServiceNowTicketing({
        instanceUrl: emulator.url,
        auth: { type: 'basic', username: 'u', password: 'p' },
        timeoutMs: 2_000,
      });
      const { request } = await outbox.enqueue({
        dedupeKey: 'sn',
        conversationKey: 'webchat:default:c1',
        tenant: 'default',
        adapter: adapter.name,
        draft: draft(),
      });
      await comments.enqueue({
        requestId: request.id,
        eventId: 'e-sn',
        author: 'customer',
        body: 'Where is it?',
        public: true,
      });
      const worker = new TicketDeliveryWorker({
        outbox,
        comments,
        adapters: { [adapter.name]: adapter },
        config,
        random: () => 0.5,
      });
      await worker.runOnce(); // the ticket
      emulator.fail({ status: 0, method: 'PATCH', hang: true, afterCommit: true });
      await drain(worker, 3);

      const externalId = (await outbox.get(request.id))?.externalId ?? '';
      const ticket = await adapter.getTicket(externalId, { tenant: 'default', idempotencyKey: 'read' });
      expect(ticket?.comments.filter((c) => c.text === 'Where is it?')).toHaveLength(1);
      expect(emulator.requests.filter((r) => r.method === 'PATCH')).toHaveLength(1);
      expect(await comments.pending()).toBe(0);
    } finally {
      await emulator.close();
    }
  });
});

describe('the comment text', () => {
  it('names each attachment and where an agent opens it, never a URL with a bot token', () => {
    const text = customerCommentText(
      event('e-a', 'Here is the photo', {
        ref: { channel: 'telegram-support', tenant: 'acme', conversation: '42' },
        attachments: [
          { kind: 'image', fileId: 'AgAD/x1', mimeType: 'image/jpeg', sizeBytes: 120_000 },
          { kind: 'file', name: 'receipt.pdf', url: 'https://files.example.com/r.pdf', sizeBytes: 900 },
        ],
      }),
    );
    expect(text).toBe(
      [
        'Here is the photo',
        'Attachments (2):',
        '- image (image/jpeg, 117 KiB) /admin/channels/telegram-support/files/AgAD%2Fx1',
        '- file "receipt.pdf" (900 B) https://files.example.com/r.pdf',
      ].join('\n'),
    );
    expect(customerCommentText(event('e-b', '  '))).toBe('');
  });
});
