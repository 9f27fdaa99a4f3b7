import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conversationPseudonym, loadAnalyticsKey } from '../../core/analytics/store';
import { type RetentionConfig, retentionSectionSchema } from '../../core/config/retention-schema';
import { AtRest } from '../../core/privacy/at-rest';
import { recordOperatorAction, recordTurn } from '../../core/security/audit';
import { RedisStateStore } from '../../core/state/redis';
import { parseCustomerTarget } from '../../core/store/customer-lookup';
import { eraseOnRecord, purgeOnRecord, RetentionScheduler } from '../../core/store/data-protection';
import type { KyselyStore } from '../../core/store/index';
import { SEALED_COLUMNS } from '../../core/store/key-rotation';
import { purgeExpired } from '../../core/store/retention';
import { conversationLookup, userLookup } from '../../core/store/rows';
import { ticketDb } from '../../core/tickets/schema';
import { type ConversationRef, conversationKey } from '../../core/types/conversation';
import type { DialogState } from '../../core/types/state';
import { openTestStore, type TestStore } from '../support/postgres';

/**
 * Retention and the right to be forgotten on both databases: the purge takes what is past each
 * tenant's window and nothing else, erasure leaves no trace of one customer in any table (read in
 * clear through the sealer) nor in Redis while the other customer keeps everything, and the audit
 * chain verifies after both. Rows the tests write themselves are sealed and hashed as the hub
 * writes them.
 */

const DAY_MS = 86_400_000;
const daysAgo = (days: number) => new Date(Date.now() - days * DAY_MS).toISOString();

const RETENTION: RetentionConfig = retentionSectionSchema.parse({
  transcriptsDays: 90,
  payloadsDays: 30,
  tenants: { finance: { transcriptsDays: 30, payloadsDays: 7 } },
  batchSize: 2,
});

describe.each([
  { driver: 'pglite', open: () => openTestStore('pglite') },
  { driver: 'postgres', open: () => openTestStore('postgres', 'hub_retention') },
])('retention and erasure on $driver', ({ open }) => {
  let opened: TestStore;
  let store: KyselyStore;
  const run = randomUUID().slice(0, 8);

  beforeAll(async () => {
    opened = await open();
    store = opened.store;
  });
  afterAll(async () => {
    await opened?.dispose();
  });

  async function say(
    ref: ConversationRef,
    userId: string,
    days: number,
    text: string,
    reply?: string,
  ): Promise<{ customerId: string; eventId: string }> {
    const customerId = await store.upsertCustomer({ channel: ref.channel, tenant: ref.tenant, userId });
    const eventId = `evt-${randomUUID()}`;
    await store.recordInbound(
      {
        id: eventId,
        kind: 'message',
        ref,
        sender: { id: userId, name: `name of ${userId}` },
        receivedAt: daysAgo(days),
        text,
        raw: { from: { id: userId, phone: `+4917${userId.length}000` }, text },
      } as never,
      customerId,
    );
    if (reply) {
      await store.recordOutbound({
        id: `${eventId}#r`,
        ref,
        inReplyTo: eventId,
        content: { type: 'text', text: reply },
        createdAt: daysAgo(days),
      });
    }
    return { customerId, eventId };
  }

  /** What conversations.key and the other conversation_key columns hold. */
  const hashed = (ref: ConversationRef) => conversationLookup(store.atRest, conversationKey(ref));

  /** A sealed column's value in clear, as stored (a jsonb value as JSON text). */
  function openStored(value: unknown, where: { table: string; column: string; row: string }): string {
    if (AtRest.isSealed(value)) return store.atRest.open(value, where);
    return typeof value === 'string' ? value : JSON.stringify(value);
  }

  const countOf = async (table: string, where = sql`true`) => {
    const { rows } = await sql<{
      n: number;
    }>`select count(*)::int as n from ${sql.table(table)} where ${where}`.execute(store.db);
    return rows[0]?.n ?? 0;
  };

  async function ticket(
    ref: ConversationRef,
    days: number,
    outbox: 'pending' | 'delivered',
    external?: string,
  ): Promise<string> {
    const id = `HUB-${randomUUID().slice(0, 8)}`;
    const db = ticketDb(store.db);
    const draft = {
      subject: 'Help',
      summary: 'customer wrote SECRET-SUMMARY',
      transcript: [{ role: 'customer', text: 'SECRET-LINE' }],
      slots: {},
      entities: {},
      customer: { channel: ref.channel, tenant: ref.tenant, userId: 'someone' },
      conversation: ref,
      conversationKey: conversationKey(ref),
      priority: 'normal',
      category: 'general',
      tags: [],
    };
    await db
      .insertInto('ticket_requests')
      .values({
        id,
        dedupe_key: store.atRest.lookup('ticket-dedupe', id),
        conversation_key: hashed(ref),
        tenant: ref.tenant,
        adapter: 'zendesk',
        draft: store.atRest.sealJson(JSON.stringify(draft), {
          table: 'ticket_requests',
          column: 'draft',
          row: id,
        }),
        external_id: external ?? null,
        created_at: daysAgo(days),
      })
      .execute();
    await db
      .insertInto('ticket_outbox')
      .values({ request_id: id, ...(outbox === 'delivered' ? { delivered_at: daysAgo(days) } : {}) })
      .execute();
    return id;
  }

  describe('the purge', () => {
    const shop = (conversation: string): ConversationRef => ({
      channel: 'webchat',
      tenant: `shop-${run}`,
      conversation: `${conversation}-${run}`,
    });
    const finance = (conversation: string): ConversationRef => ({
      channel: 'telegram',
      tenant: 'finance',
      conversation: `${conversation}-${run}`,
    });
    let alice: string;
    let carol: string;
    let aliceRecent: string;
    let bobTen: string;

    beforeAll(async () => {
      // shop (default windows: 90 days of text, 30 of payloads)
      await say(shop('alice'), 'alice', 100, 'a100', 'r100');
      const forty = await say(shop('alice'), 'alice', 40, 'a40', 'r40');
      alice = forty.customerId;
      aliceRecent = (await say(shop('alice'), 'alice', 1, 'a1')).eventId;
      await say(shop('alice-old'), 'alice', 120, 'old', 'old reply');
      await ticket(shop('alice-old'), 120, 'delivered', 'ZD-1');
      carol = (await say(shop('carol'), 'carol', 200, 'c200', 'r200')).customerId;
      await say(shop('dave'), 'dave', 120, 'd120');
      await ticket(shop('dave'), 120, 'pending');
      // The identities' and customers' own clocks, as if they were last seen back then.
      const carolDave = ['carol', 'dave'].map((user) => userLookup(store.atRest, user));
      await sql`update channel_identities set last_seen_at = ${daysAgo(200)} where user_id in (${sql.join(carolDave)}) and tenant = ${`shop-${run}`}`.execute(
        store.db,
      );
      await sql`update customers set created_at = ${daysAgo(200)} where id = ${carol}`.execute(store.db);
      // finance (30 days of text, 7 of payloads)
      await say(finance('bob'), 'bob', 40, 'b40', 'r40');
      bobTen = (await say(finance('bob'), 'bob', 10, 'b10')).eventId;
      await say(finance('bob'), 'bob', 2, 'b2');
      // Business metrics: a conversation of 100 days ago with its fact, and one of yesterday.
      for (const [id, days] of [
        [`old-${run}`, 100],
        [`new-${run}`, 1],
      ] as const) {
        await sql`insert into conversation_outcomes (id, conversation_hash, tenant, channel, day, started_at, last_customer_at)
          values (${id}, ${`hash-${id}`}, ${`shop-${run}`}, 'webchat', ${daysAgo(days).slice(0, 10)}, ${daysAgo(days)}, ${daysAgo(days)})`.execute(
          store.db,
        );
        await sql`insert into turn_facts (event_id, conversation_id, tenant, channel, customer, day, at)
          values (${`fact-${id}`}, ${id}, ${`shop-${run}`}, 'webchat', true, ${daysAgo(days).slice(0, 10)}, ${daysAgo(days)})`.execute(
          store.db,
        );
      }
    });

    it('a dry run counts what a purge takes and changes nothing', async () => {
      const before = await countOf('messages');
      const report = await purgeExpired(store.db, RETENTION, { dryRun: true });
      expect(report.dryRun).toBe(true);
      expect(report.tenants[`shop-${run}`]).toMatchObject({
        messages: 7,
        conversations: 2,
        identities: 1,
        ticketDrafts: 1,
        turnFacts: 1,
        conversationOutcomes: 1,
      });
      expect(report.tenants.finance).toMatchObject({ messages: 2, payloads: 3 });
      expect(await countOf('messages')).toBe(before);
    });

    it('takes what is past each tenant window, batch by batch, and puts counts on record', async () => {
      const report = await purgeOnRecord(store, RETENTION, 'cli');
      expect(report.tenants[`shop-${run}`]).toEqual({
        messages: 7, // alice 100d ×2, alice-old ×2, carol ×2, dave ×1
        payloads: 2, // alice 40d ×2
        conversations: 2, // alice-old, carol; dave waits for its pending ticket
        ticketComments: 0,
        ticketDrafts: 1, // alice-old's delivered ticket, before its conversation went
        ticketRequests: 1, // ... then the request itself once the conversation was gone
        identities: 1, // carol; dave keeps a conversation
        customers: 0,
        rejectedWebhooks: 0,
        turnFacts: 1, // the business metrics of 100 days ago; yesterday's stay
        conversationOutcomes: 1,
      });
      expect(await countOf('conversation_outcomes', sql`id = ${`new-${run}`}`)).toBe(1);
      expect(await countOf('turn_facts', sql`event_id = ${`fact-new-${run}`}`)).toBe(1);
      expect(report.tenants.finance).toMatchObject({ messages: 2, payloads: 1, conversations: 0 });
      expect(report.total.customers).toBe(1); // carol, left with nothing

      const left = await store.transcript(conversationKey(shop('alice')));
      expect(left.map((e) => e.text)).toEqual(['a40', 'r40', 'a1']);
      // Old payloads became stubs: the platform's fields went, the ids and an outbound text stayed.
      expect(JSON.stringify(left[0]?.payload)).not.toContain('+4917');
      expect(left[0]?.payload).toMatchObject({ id: expect.any(String), payloadPurged: true });
      expect(left[1]?.payload).toMatchObject({ content: { type: 'text', text: 'r40' }, payloadPurged: true });
      expect(JSON.stringify(left[2]?.payload)).toContain('+4917');
      // A stub is sealed as the payload was, bound to its row: in the table it is a sealed string.
      for (const entry of left.slice(0, 2)) {
        const { rows } = await sql<{
          payload: unknown;
        }>`select payload from messages where id = ${entry.id}`.execute(store.db);
        expect(AtRest.isSealed(rows[0]?.payload), entry.id).toBe(true);
      }
      // The delivered ticket's draft lost what the customer said, and is sealed again.
      const drafts = await sql<{ id: string; draft: unknown; draft_redacted: boolean }>`
        select id, draft, draft_redacted from ticket_requests where tenant = ${`shop-${run}`}`.execute(
        store.db,
      );
      const redacted = drafts.rows.filter((row) => row.draft_redacted);
      expect(redacted.map((row) => AtRest.isSealed(row.draft))).toEqual(redacted.map(() => true));
      for (const row of drafts.rows) {
        const clear = openStored(row.draft, { table: 'ticket_requests', column: 'draft', row: row.id });
        if (row.draft_redacted) expect(clear).not.toMatch(/SECRET-SUMMARY|SECRET-LINE/);
        else expect(clear).toContain('SECRET-SUMMARY'); // dave's, pending: untouched
      }
      const bob = await store.transcript(conversationKey(finance('bob')));
      expect(bob.map((e) => [e.text, 'payloadPurged' in e.payload])).toEqual([
        ['b10', true],
        ['b2', false],
      ]);
      expect(bob[0]?.id).toBe(bobTen);
      expect(left[2]?.id).toBe(aliceRecent);

      expect(await countOf('customers', sql`id = ${carol}`)).toBe(0);
      expect(await countOf('customers', sql`id = ${alice}`)).toBe(1);
      expect(await countOf('conversations', sql`key = ${hashed(shop('dave'))}`)).toBe(1);
      expect(await countOf('ticket_requests', sql`conversation_key = ${hashed(shop('alice-old'))}`)).toBe(0);

      const [record] = await store.auditTrail({ subject: 'retention' });
      expect(record).toMatchObject({ actor: 'cli', action: 'operator.retention.purge' });
      expect(record?.details).toMatchObject({ total: { messages: 9, customers: 1 } });
      expect(JSON.stringify(record)).not.toMatch(/alice|carol|a100/);
      expect(await store.auditLog.verify()).toMatchObject({ ok: true });

      const again = await purgeExpired(store.db, RETENTION);
      expect(again.total.messages + again.total.payloads + again.total.conversations).toBe(0);
    });

    it('one of two racing schedulers purges; the other finds the lease taken until the next run is due', async () => {
      const a = new RetentionScheduler(store, RETENTION, { intervalMs: 60_000 });
      const b = new RetentionScheduler(store, RETENTION, { intervalMs: 60_000 });
      const results = await Promise.all([a.runOnce(), b.runOnce()]);
      expect(results.filter((r) => r === 'skipped')).toHaveLength(1);
      expect(results.filter((r) => r !== 'skipped')).toHaveLength(1);
      expect(await a.runOnce()).toBe('skipped');
      expect(await b.runOnce()).toBe('skipped');
      await sql`update job_leases set until = now() - interval '1 second'`.execute(store.db);
      expect(await b.runOnce()).not.toBe('skipped');
      await Promise.all([a.stop(), b.stop()]);
    });
  });

  describe('erasure', () => {
    const redis = new Redis('redis://127.0.0.1:6379', { lazyConnect: true, maxRetriesPerRequest: 1 });
    const prefix = `test-erase-${randomUUID()}`;
    let states: RedisStateStore;
    const tenant = `shop-${run}`;
    const erinId = `erin-${run}`;
    const frankId = `frank-${run}`;
    const direct = (user: string): ConversationRef => ({
      channel: 'webchat',
      tenant,
      conversation: `dm-${user}`,
    });
    const group: ConversationRef = { channel: 'webchat', tenant, conversation: `group-${run}` };
    let erin: string;
    let frank: string;
    let erinGroupEvent: string;
    let frankGroupEvent: string;

    const state = (ref: ConversationRef, text: string): DialogState => ({
      conversationKey: conversationKey(ref),
      slots: { email: `${text}@example.com` },
      history: [{ role: 'user', text, at: new Date().toISOString() }],
      handoff: 'bot',
      handledEventIds: [],
      updatedAt: new Date().toISOString(),
    });

    beforeAll(async () => {
      await redis.connect();
      states = new RedisStateStore(redis, { ttlMs: 600_000, keyPrefix: prefix, atRest: store.atRest });
      const first = await say(direct(erinId), erinId, 3, 'ERIN-SECRET my card', 'ok Erin');
      erin = first.customerId;
      await recordTurn(store, turn(first.eventId, direct(erinId)));
      // A photo Erin sent, an operator's download of it, and an agent's ticket action in her chat.
      await store.recordInbound(
        {
          id: `evt-${randomUUID()}`,
          kind: 'message',
          ref: direct(erinId),
          sender: { id: erinId },
          receivedAt: daysAgo(3),
          attachments: [{ kind: 'image', fileId: `file-${erinId}`, name: 'passport.jpg' }],
        },
        erin,
      );
      await recordOperatorAction(store, {
        actor: 'operator:agent-1',
        action: 'file.download',
        subject: `file:webchat:file-${erinId}`,
        details: { channel: 'webchat', name: 'passport.jpg' },
      });
      await recordOperatorAction(store, {
        actor: 'operator:agent-1',
        action: 'ticket.reply',
        subject: 'ticket:demo:1',
        // As the agent console writes it: the conversation key's hash.
        details: { agent: 'Ann', conversation: hashed(direct(erinId)) },
      });
      const erinTicket = await ticket(direct(erinId), 3, 'delivered', 'ZD-77');
      await ticket(direct(erinId), 2, 'pending');
      const db = ticketDb(store.db);
      await db
        .insertInto('ticket_comments')
        .values({
          request_id: erinTicket,
          event_id: first.eventId,
          author: 'Erin',
          body: store.atRest.seal('ERIN-SECRET', {
            table: 'ticket_comments',
            column: 'body',
            row: first.eventId,
          }),
          public: true,
        })
        .execute();
      const demo = await db
        .insertInto('demo_tickets')
        .values({
          idempotency_key: erinTicket,
          tenant,
          subject: store.atRest.seal('ERIN-SECRET', {
            table: 'demo_tickets',
            column: 'subject',
            row: erinTicket,
          }),
          status: 'open',
          priority: 'normal',
          category: 'general',
          tags: '[]',
          draft: '{}',
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      await db
        .insertInto('demo_ticket_comments')
        .values({
          ticket_id: demo.id,
          author: 'Erin',
          text: store.atRest.seal('ERIN-SECRET', {
            table: 'demo_ticket_comments',
            column: 'text',
            row: String(demo.id),
          }),
          public: true,
        })
        .execute();
      const inGroup = await say(group, erinId, 2, 'ERIN-SECRET in the group', 'answer to Erin');
      erinGroupEvent = inGroup.eventId;
      await recordTurn(store, turn(inGroup.eventId, group));
      const frankDirect = await say(direct(frankId), frankId, 2, 'FRANK-TEXT', 'ok Frank');
      frank = frankDirect.customerId;
      await recordTurn(store, turn(frankDirect.eventId, direct(frankId)));
      const frankGroup = await say(group, frankId, 1, 'FRANK-TEXT in the group', 'answer to Frank');
      frankGroupEvent = frankGroup.eventId;
      await recordTurn(store, turn(frankGroup.eventId, group));
      // A supervisor labelled both group turns' intents (core/intents): Erin's goes with her.
      for (const [id, eventId] of [
        ['label-erin', erinGroupEvent],
        ['label-frank', frankGroupEvent],
      ]) {
        await sql`insert into intent_labels (id, event_id, tenant, predicted, intent, status, labelled_by, labelled_at)
          values (${id}, ${eventId}, 'default', 'unknown', 'refund', 'pending', 'operator:sam', now())`.execute(
          store.db,
        );
      }
      const webhookBody = (user: string) =>
        store.atRest.seal(`{"user":"${user}"}`, {
          table: 'rejected_webhooks',
          column: 'body',
          row: 'webchat',
        });
      await sql`insert into rejected_webhooks (channel, reason, body, body_bytes, truncated)
        values ('webchat', 'normalize_failed', ${webhookBody(erinId)}, 20, false),
               ('webchat', 'normalize_failed', ${webhookBody(frankId)}, 20, false)`.execute(store.db);
      // Business metrics, named by the pseudonym of each conversation key (core/analytics).
      const pseudonymKey = await loadAnalyticsKey(store.db);
      const metrics = async (ref: ConversationRef, eventIds: string[]) => {
        const id = `outcome-${randomUUID()}`;
        await sql`insert into conversation_outcomes (id, conversation_hash, tenant, channel, day, started_at, last_customer_at)
          values (${id}, ${conversationPseudonym(pseudonymKey, conversationKey(ref))}, ${tenant}, 'webchat',
                  ${daysAgo(2).slice(0, 10)}, ${daysAgo(2)}, ${daysAgo(1)})`.execute(store.db);
        for (const eventId of eventIds) {
          await sql`insert into turn_facts (event_id, conversation_id, tenant, channel, customer, day, at)
            values (${eventId}, ${id}, ${tenant}, 'webchat', true, ${daysAgo(2).slice(0, 10)}, ${daysAgo(2)})`.execute(
            store.db,
          );
        }
      };
      await metrics(direct(erinId), [first.eventId]);
      await metrics(group, [inGroup.eventId, frankGroup.eventId]);
      await metrics(direct(frankId), [frankDirect.eventId]);
      for (const [ref, text] of [
        [direct(erinId), 'ERIN-SECRET'],
        [group, 'ERIN-SECRET'],
        [direct(frankId), 'FRANK-TEXT'],
      ] as const) {
        await states.save(state(ref, text));
      }
    });
    afterAll(async () => {
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length > 0) await redis.del(...keys);
      await redis.quit();
    });

    function turn(eventId: string, ref: ConversationRef) {
      return {
        eventId,
        conversationKey: conversationKey(ref),
        channel: ref.channel,
        tenant: ref.tenant,
        retrieved: [],
        actions: [],
        citations: [],
        replies: [`${eventId}#r`],
        latencyMs: 5,
        outcome: 'answered' as const,
      };
    }

    /**
     * Every table whose rows hold `needle`: in their text as stored (every table of the public
     * schema), or in a sealed column opened through the sealer (core/store/key-rotation.ts
     * `SEALED_COLUMNS`, each bound to its row as the store binds it).
     */
    async function tablesHolding(needle: string): Promise<string[]> {
      const found = new Set([...(await storedHolding(needle)), ...(await sealedHolding(needle))]);
      return [...found].sort();
    }

    /** Sealed columns opened: a sealed value is random bytes to a text scan. */
    async function sealedHolding(needle: string): Promise<string[]> {
      // The row identities key-rotation.ts leaves out (kysely-store.ts binds them so).
      const rowOf: Record<string, ReturnType<typeof sql<string>>> = {
        channel_identities: sql<string>`channel || '/' || tenant || '/' || user_id`,
        conversations: sql<string>`key`,
      };
      const found: string[] = [];
      for (const spec of SEALED_COLUMNS) {
        const row = spec.row ?? rowOf[spec.table];
        if (!row) throw new Error(`no row identity for ${spec.table}.${spec.column}`);
        const value = spec.json ? sql`${sql.ref(spec.column)} #>> '{}'` : sql.ref(spec.column);
        const { rows } = await sql<{ row_key: string; value: string | null }>`
          select ${row} as row_key, ${value} as value from ${sql.table(spec.table)}`.execute(store.db);
        const where = { table: spec.table, column: spec.column };
        const holds = rows.some((r) => {
          if (r.value === null) return false;
          // channel_identities binds channel, tenant and user id joined by NUL, which SQL text cannot hold.
          const rowKey =
            spec.table === 'channel_identities' ? r.row_key.split('/').join('\u0000') : r.row_key;
          return openStored(r.value, { ...where, row: rowKey }).includes(needle);
        });
        if (holds) found.push(spec.table);
      }
      return found;
    }

    /** Every row of every table in the public schema whose text holds `needle`, as `table`. */
    async function storedHolding(needle: string): Promise<string[]> {
      const { rows: tables } = await sql<{ table_name: string }>`
        select table_name from information_schema.tables
        where table_schema = 'public' and table_type = 'BASE TABLE'`.execute(store.db);
      const found: string[] = [];
      for (const { table_name } of tables) {
        const { rows } = await sql<{ n: number }>`select count(*)::int as n from ${sql.table(table_name)} t
          where strpos(t::text, ${needle}) > 0`.execute(store.db);
        if ((rows[0]?.n ?? 0) > 0) found.push(table_name);
      }
      return found.sort();
    }

    it('erases one customer everywhere, leaves the other whole, and the chain still verifies', async () => {
      const target = parseCustomerTarget(`webchat:${erinId}`);
      if (!target) throw new Error('unparsed');
      expect(await tablesHolding(erinId)).toEqual(
        expect.arrayContaining(['messages', 'conversations', 'rejected_webhooks', 'audit_log']),
      );
      expect(await tablesHolding(userLookup(store.atRest, erinId))).toEqual(['channel_identities']);
      // Her words are sealed: a text scan finds none of them, the scan through the sealer finds them all.
      expect(await storedHolding('ERIN-SECRET')).toEqual([]);
      expect(await tablesHolding('ERIN-SECRET')).toEqual(
        expect.arrayContaining(['demo_ticket_comments', 'demo_tickets', 'messages', 'ticket_comments']),
      );
      expect(await tablesHolding('dm-erin')).toEqual(expect.arrayContaining(['conversations']));
      expect(await tablesHolding(hashed(direct(erinId)))).toEqual(
        expect.arrayContaining(['messages', 'conversations', 'ticket_requests', 'audit_log']),
      );
      const report = await eraseOnRecord(store, target, 'operator:admin-1', { states });
      expect(report.customerIds).toEqual([erin]);
      expect(report.counts).toEqual({
        customers: 1,
        identities: 1,
        conversations: 1,
        messages: 5, // the direct chat's 3, and in the group Erin's message and the reply to it
        ticketRequests: 2,
        ticketComments: 1,
        demoTickets: 1,
        rejectedWebhooks: 1,
        dialogStates: 2,
        businessMetrics: 3, // her chat's row and its fact, her own turn's fact in the group
        auditRecords: 4, // her two turns, the download of her photo, the agent's action in her chat
        intentLabels: 1, // the label of her group turn; Frank's stays
      });
      expect(await countOf('intent_labels', sql`event_id = ${frankGroupEvent}`)).toBe(1);
      expect(report.sharedConversations).toBe(1);
      expect(report.externalTickets).toEqual([]); // ZD-77 was the demo desk's copy, erased here

      const pseudonymKey = await loadAnalyticsKey(store.db);
      for (const needle of [
        erinId,
        'ERIN-SECRET',
        'dm-erin',
        'ok Erin',
        'answer to Erin',
        'passport.jpg',
        erinGroupEvent,
        // What the store keeps in place of her ids: their keyed hashes, and the metrics' pseudonym.
        userLookup(store.atRest, erinId),
        hashed(direct(erinId)),
        conversationPseudonym(pseudonymKey, conversationKey(direct(erinId))),
      ]) {
        expect(await tablesHolding(needle), needle).toEqual([]);
      }
      expect(await countOf('turn_facts', sql`event_id = ${frankGroupEvent}`)).toBe(1);
      const kept = [group, direct(frankId)].map((ref) =>
        conversationPseudonym(pseudonymKey, conversationKey(ref)),
      );
      expect(await countOf('conversation_outcomes', sql`conversation_hash in (${sql.join(kept)})`)).toBe(2);
      // The random customer id stays only in the erasure's own record.
      expect(await tablesHolding(erin)).toEqual(['audit_log']);
      const [erasure] = await store.auditTrail({ subject: `customer:${erin}` });
      expect(erasure).toMatchObject({
        actor: 'operator:admin-1',
        action: 'operator.customer.erase',
        details: { counts: { messages: 5 }, by: 'identity' },
      });

      expect(await states.load(conversationKey(direct(erinId)))).toBeUndefined();
      expect(await states.load(conversationKey(group))).toBeUndefined();
      expect(await states.load(conversationKey(direct(frankId)))).toMatchObject({
        slots: { email: 'FRANK-TEXT@example.com' },
      });

      expect(await countOf('customers', sql`id = ${frank}`)).toBe(1);
      expect((await store.transcript(conversationKey(direct(frankId)))).map((e) => e.text)).toEqual([
        'FRANK-TEXT',
        'ok Frank',
      ]);
      expect((await store.transcript(conversationKey(group))).map((e) => e.text)).toEqual([
        'FRANK-TEXT in the group',
        'answer to Frank',
      ]);
      expect(await tablesHolding(frankId)).toEqual(
        expect.arrayContaining(['messages', 'conversations', 'rejected_webhooks']),
      );
      expect(await tablesHolding(userLookup(store.atRest, frankId))).toEqual(['channel_identities']);
      const frankTurns = await store.auditTrail({ subject: conversationKey(group) });
      expect(frankTurns.map((r) => r.details.eventId)).toEqual([frankGroupEvent]);

      const verified = await store.auditLog.verify();
      expect(verified).toMatchObject({ ok: true, redacted: 4 });
    });

    it('a redaction nobody listed in a chained record is still caught as an edit', async () => {
      const [victim] = await store.auditTrail({ subject: conversationKey(direct(frankId)) });
      expect(victim).toBeDefined();
      await sql`update audit_log set subject = null, details = '{"redacted": true}'::jsonb
        where subject = ${hashed(direct(frankId))}`.execute(store.db);
      const verified = await store.auditLog.verify();
      expect(verified).toMatchObject({ ok: false, fault: { reason: 'edited' } });
    });

    it('a second erasure finds nothing and says so; a uuid names a customer too', async () => {
      const again = await eraseOnRecord(
        store,
        { kind: 'identity', channel: 'webchat', userId: erinId },
        'cli',
        {
          states,
        },
      );
      expect(again.customerIds).toEqual([]);
      expect(Object.values(again.counts).every((n) => n === 0)).toBe(true);

      const byId = parseCustomerTarget(frank.toUpperCase());
      expect(byId).toEqual({ kind: 'customer', customerId: frank });
      const erased = await eraseOnRecord(store, byId as never, 'cli', { states });
      expect(erased.customerIds).toEqual([frank]);
      expect(await tablesHolding('FRANK-TEXT')).toEqual([]);
      // Erased by uuid, the platform id is not known to match webhook bodies with: reported, kept.
      expect(erased.counts.rejectedWebhooks).toBe(0);
    });
  });
});
