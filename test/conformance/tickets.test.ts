import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DemoTicketing, ticketingConfigSchema, ZendeskTicketing } from '../../adapters/ticketing';
import { hubConfigSchema } from '../../core/config/schema';
import { createStore, type KyselyStore } from '../../core/store/index';
import { TicketOutbox } from '../../core/tickets/outbox';
import { ticketDb } from '../../core/tickets/schema';
import { TicketDeliveryWorker } from '../../core/tickets/worker';
import type { TicketingAdapter } from '../../core/types';
import { startZendeskEmulator, type ZendeskEmulator } from '../emulators/zendesk-emulator';
import { openTestStore } from '../support/postgres';
import { draft } from '../support/ticket-draft';

/** The ticket outbox and its delivery worker, on PGlite and on the real PostgreSQL server. */
const drivers = {
  pglite: () => openTestStore('pglite'),
  postgres: () => openTestStore('postgres', 'hub_tickets'),
};

const config = ticketingConfigSchema.parse({
  outbox: { pollMs: 20, maxAttempts: 3, backoffMs: 10, maxBackoffMs: 50, leaseMs: 200 },
  breaker: { failureThreshold: 2, resetMs: 60_000 },
  timeoutMs: 2_000,
});

for (const [driverName, open] of Object.entries(drivers)) {
  describe(`ticket outbox on ${driverName}`, () => {
    let store: KyselyStore;
    let dispose: () => Promise<void>;
    let outbox: TicketOutbox;
    let demo: DemoTicketing;
    let zendesk: ZendeskEmulator;
    let zendeskAdapter: TicketingAdapter;

    beforeAll(async () => {
      ({ store, dispose } = await open());
      zendesk = await startZendeskEmulator({ email: 'bot@example.com', apiToken: 'zd-token' });
    });
    afterAll(async () => {
      await zendesk?.close();
      await dispose?.();
    });
    beforeEach(async () => {
      const db = ticketDb(store.db);
      await sql`truncate ticket_requests, ticket_outbox, demo_tickets, demo_ticket_comments cascade`.execute(
        db,
      );
      zendesk.reset();
      outbox = new TicketOutbox(store.db);
      demo = new DemoTicketing(db);
      zendeskAdapter = new ZendeskTicketing({
        baseUrl: zendesk.url,
        email: 'bot@example.com',
        apiToken: 'zd-token',
        timeoutMs: 5_000,
      });
    });

    const worker = (adapters: Record<string, TicketingAdapter>) =>
      new TicketDeliveryWorker({ outbox, adapters, config, random: () => 0.5 });
    const makeDue = () => sql`update ticket_outbox set next_attempt_at = now()`.execute(ticketDb(store.db));

    it('writes one request and one outbox row per dedupe key', async () => {
      const first = await outbox.enqueue({
        dedupeKey: 'k1',
        conversationKey: 'c',
        tenant: 't',
        adapter: 'demo',
        draft: draft(),
      });
      const again = await outbox.enqueue({
        dedupeKey: 'k1',
        conversationKey: 'c',
        tenant: 't',
        adapter: 'demo',
        draft: draft(),
      });
      expect(first.created).toBe(true);
      expect(again.created).toBe(false);
      expect(again.request.id).toBe(first.request.id);
      expect(first.request.id).toMatch(/^HUB-[0-9A-HJKMNP-TV-Z]{8}$/);
      expect(await outbox.pending()).toBe(1);
    });

    it('delivers to the demo helpdesk once, with the draft and a first comment', async () => {
      const { request } = await outbox.enqueue({
        dedupeKey: 'k',
        conversationKey: 'c',
        tenant: 't',
        adapter: 'demo',
        draft: draft(),
      });
      const w = worker({ demo });
      expect(await w.runOnce()).toBe(1);
      expect(await w.runOnce()).toBe(0);
      const delivered = await outbox.get(request.id);
      expect(delivered?.externalId).toMatch(/^\d+$/);
      const ticket = await demo.getTicket(delivered?.externalId ?? '', {
        tenant: 't',
        idempotencyKey: 'read',
      });
      expect(ticket?.subject).toBe('[webchat] Where is my parcel?');
      expect(ticket?.comments[0]?.text).toContain('Entity order_id: XX12345678');
      expect(ticket?.comments[0]?.text).toContain('customer: Where is my parcel XX12345678?');
      // The same key again (a retry after a lost acknowledgement) returns the same ticket.
      const again = await demo.createTicket(draft(), { tenant: 't', idempotencyKey: request.id });
      expect(again.externalId).toBe(delivered?.externalId);
      expect(await demo.list()).toHaveLength(1);
    });

    it('retries a failing helpdesk with backoff, then dead-letters, and replays', async () => {
      const { request } = await outbox.enqueue({
        dedupeKey: 'k',
        conversationKey: 'c',
        tenant: 't',
        adapter: 'zendesk',
        draft: draft(),
      });
      zendesk.fail({ status: 503, times: 3 });
      const w = new TicketDeliveryWorker({
        outbox,
        adapters: { zendesk: zendeskAdapter },
        config: {
          ...config,
          outbox: { ...config.outbox, backoffMs: 5_000, maxBackoffMs: 60_000 },
          breaker: { failureThreshold: 10, resetMs: 1000 },
        },
        random: () => 0.5,
      });
      expect(await w.runOnce()).toBe(0);
      // Backed off: not due again at once.
      expect(await w.runOnce()).toBe(0);
      const { rows } = await sql<{ attempts: number; due_in_ms: number }>`
        select attempts, extract(epoch from (next_attempt_at - now())) * 1000 as due_in_ms from ticket_outbox`.execute(
        ticketDb(store.db),
      );
      expect(rows[0]?.attempts).toBe(1);
      expect(Number(rows[0]?.due_in_ms)).toBeGreaterThan(3_000);
      await makeDue();
      expect(await w.runOnce()).toBe(0);
      await makeDue();
      expect(await w.runOnce()).toBe(0);
      const dead = await outbox.deadLetters();
      expect(dead).toEqual([
        expect.objectContaining({ requestId: request.id, attempts: 3, adapter: 'zendesk' }),
      ]);
      expect(dead[0]?.lastError).toContain('Zendesk answered 503');
      expect(zendesk.tickets).toHaveLength(0);

      expect(await outbox.replay()).toBe(1);
      expect(await outbox.deadLetters()).toHaveLength(0);
      expect(await w.runOnce()).toBe(1);
      expect(zendesk.tickets).toHaveLength(1);
      expect(zendesk.tickets[0]?.external_id).toBe(request.id);
    });

    it('honours Retry-After of a 429', async () => {
      await outbox.enqueue({
        dedupeKey: 'k',
        conversationKey: 'c',
        tenant: 't',
        adapter: 'zendesk',
        draft: draft(),
      });
      zendesk.fail({ status: 429, retryAfter: 30, method: 'GET' });
      const w = new TicketDeliveryWorker({
        outbox,
        adapters: { zendesk: zendeskAdapter },
        config: { ...config, outbox: { ...config.outbox, maxBackoffMs: 120_000 } },
        random: () => 0.5,
      });
      await w.runOnce();
      const { rows } = await sql<{ due_in_ms: number }>`
        select extract(epoch from (next_attempt_at - now())) * 1000 as due_in_ms from ticket_outbox`.execute(
        ticketDb(store.db),
      );
      expect(Number(rows[0]?.due_in_ms)).toBeGreaterThan(28_000);
      expect(Number(rows[0]?.due_in_ms)).toBeLessThan(31_000);
    });

    it('dead-letters a request the helpdesk refuses (401) without retrying', async () => {
      await outbox.enqueue({
        dedupeKey: 'k',
        conversationKey: 'c',
        tenant: 't',
        adapter: 'zendesk',
        draft: draft(),
      });
      const wrong = new ZendeskTicketing({
        baseUrl: zendesk.url,
        email: 'bot@example.com',
        apiToken: 'wrong',
        timeoutMs: 5_000,
      });
      await worker({ zendesk: wrong }).runOnce();
      const dead = await outbox.deadLetters();
      expect(dead).toHaveLength(1);
      expect(dead[0]?.attempts).toBe(1);
      expect(dead[0]?.lastError).toMatch(/401.*credentials/);
    });

    it('opens the circuit after consecutive failures and then defers without spending attempts', async () => {
      for (const key of ['a', 'b', 'c']) {
        await outbox.enqueue({
          dedupeKey: key,
          conversationKey: 'c',
          tenant: 't',
          adapter: 'zendesk',
          draft: draft(),
        });
      }
      zendesk.fail({ status: 500, times: 10 });
      const w = worker({ zendesk: zendeskAdapter });
      await w.runOnce();
      expect(w.breaker('zendesk').state()).toBe('open');
      // Two failures opened it; the third delivery was not attempted at all.
      const { rows } = await sql<{
        attempts: number;
      }>`select attempts from ticket_outbox order by id`.execute(ticketDb(store.db));
      expect(rows.map((r) => r.attempts)).toEqual([1, 1, 0]);
      const posts = zendesk.requests.filter((r) => r.method === 'POST').length;
      expect(posts).toBe(0); // the look-up before create failed first each time
    });

    it('takes over a delivery whose worker died once its lease lapses', async () => {
      await outbox.enqueue({
        dedupeKey: 'k',
        conversationKey: 'c',
        tenant: 't',
        adapter: 'demo',
        draft: draft(),
      });
      const claimed = await outbox.claim(10, 200);
      expect(claimed).toHaveLength(1);
      expect(await outbox.claim(10, 200)).toHaveLength(0); // leased
      await new Promise((resolve) => setTimeout(resolve, 250));
      expect(await worker({ demo }).runOnce()).toBe(1);
      const { rows } = await sql<{ attempts: number }>`select attempts from ticket_outbox`.execute(
        ticketDb(store.db),
      );
      expect(rows[0]?.attempts).toBe(2);
    });

    it('two workers racing over the same outbox deliver every ticket exactly once', async () => {
      for (let i = 0; i < 20; i += 1) {
        await outbox.enqueue({
          dedupeKey: `r${i}`,
          conversationKey: 'c',
          tenant: 't',
          adapter: 'demo',
          draft: draft(),
        });
      }
      // A lease far longer than any delivery: the race under test is two claims, not a lapsed lease
      // (a 200 ms lease on a loaded machine lets the second worker take a delivery still running).
      const leased = { ...config, outbox: { ...config.outbox, leaseMs: 60_000 } };
      const a = new TicketDeliveryWorker({ outbox, adapters: { demo }, config: leased, random: () => 0.5 });
      const b = new TicketDeliveryWorker({ outbox, adapters: { demo }, config: leased, random: () => 0.5 });
      let delivered = 0;
      while ((await outbox.pending()) > 0) {
        const [x, y] = await Promise.all([a.runOnce(), b.runOnce()]);
        delivered += x + y;
      }
      expect(delivered).toBe(20);
      expect(await demo.list(100)).toHaveLength(20);
    });
  });
}

describe('delivery worker loop', () => {
  let store: KyselyStore;
  beforeAll(async () => {
    store = await createStore(
      hubConfigSchema.parse({ database: { driver: 'pglite', dataDir: 'memory://' } }),
    );
  });
  afterAll(async () => store?.close());
  let w: TicketDeliveryWorker | undefined;
  afterEach(async () => w?.stop());

  it('delivers soon after a kick, without waiting for the poll', async () => {
    const outbox = new TicketOutbox(store.db);
    const demo = new DemoTicketing(ticketDb(store.db));
    w = new TicketDeliveryWorker({
      outbox,
      adapters: { demo },
      config: { ...config, outbox: { ...config.outbox, pollMs: 60_000 } },
    });
    w.start();
    await new Promise((resolve) => setTimeout(resolve, 50));
    await outbox.enqueue({
      dedupeKey: 'kick',
      conversationKey: 'c',
      tenant: 't',
      adapter: 'demo',
      draft: draft(),
    });
    const started = Date.now();
    w.kick();
    while ((await outbox.pending()) > 0 && Date.now() - started < 5_000) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(await outbox.pending()).toBe(0);
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
