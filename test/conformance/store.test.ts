import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hubConfigSchema } from '../../core/config/schema';
import { createStore, type KyselyStore, MIGRATION_TABLE, migrations } from '../../core/store/index';
import { conversationLookup, userLookup } from '../../core/store/rows';
import { type ConversationRef, conversationKey } from '../../core/types/conversation';
import { HubError } from '../../core/types/errors';
import type { InboundEvent } from '../../core/types/events';
import type { OutboundMessage } from '../../core/types/outbound';
import { ADMIN_URL, openTestStore, type TestStore } from '../support/postgres';

const ref = (conversation: string, thread?: string): ConversationRef => ({
  channel: 'webchat',
  tenant: 'default',
  conversation,
  ...(thread ? { thread } : {}),
});

const at = (second: number): string => new Date(Date.UTC(2026, 0, 1, 12, 0, second)).toISOString();

function inbound(conversation: ConversationRef, second: number, text = `in ${second}`): InboundEvent {
  return {
    id: `evt-${randomUUID()}`,
    kind: 'message',
    ref: conversation,
    sender: { id: 'u-1', name: 'Li Wei' },
    receivedAt: at(second),
    text,
  };
}

function outbound(
  conversation: ConversationRef,
  inReplyTo: string,
  second: number,
  text: string,
): OutboundMessage {
  return {
    id: `${inReplyTo}#${text}`,
    ref: conversation,
    inReplyTo,
    content: { type: 'text', text },
    createdAt: at(second),
    source: 'flow',
  };
}

const fresh = (): ConversationRef => ref(`c-${randomUUID()}`);

describe.each([
  { driver: 'pglite (in memory)', open: () => openTestStore('pglite') },
  { driver: 'postgres (real server)', open: () => openTestStore('postgres') },
])('HubStore on $driver', ({ open }) => {
  let opened: TestStore;
  let store: KyselyStore;

  beforeAll(async () => {
    opened = await open();
    store = opened.store;
  });
  afterAll(async () => {
    await opened?.dispose();
  });

  const count = async (table: 'customers' | 'messages'): Promise<number> => {
    const row = await store.db
      .selectFrom(table)
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  };

  it('records its migrations and can run them again', async () => {
    await store.migrate();
    await store.migrate();
    const applied = await sql<{
      name: string;
    }>`select name from ${sql.table(MIGRATION_TABLE)} order by name`.execute(store.db);
    expect(applied.rows.map((r) => r.name)).toEqual(Object.keys(migrations).sort());
    expect(applied.rows.map((r) => r.name)).toContain('0001_initial');
    const tables = await sql<{ table_name: string }>`
      select table_name from information_schema.tables where table_schema = 'public' order by table_name`.execute(
      store.db,
    );
    expect(tables.rows.map((r) => r.table_name)).toEqual(
      expect.arrayContaining(['audit_log', 'channel_identities', 'conversations', 'customers', 'messages']),
    );
    await store.ping();
  });

  it('applies a migration numbered below one already applied (0010 added after 0011 ran)', async () => {
    const retention = migrations['0010_retention'];
    await retention?.down?.(store.db);
    await sql`delete from ${sql.table(MIGRATION_TABLE)} where name = '0010_retention'`.execute(store.db);
    await store.migrate();
    const applied = await sql<{
      name: string;
    }>`select name from ${sql.table(MIGRATION_TABLE)} order by name`.execute(store.db);
    expect(applied.rows.map((r) => r.name)).toEqual(Object.keys(migrations).sort());
    const leases = await sql<{ n: number }>`select count(*)::int as n from job_leases`.execute(store.db);
    expect(leases.rows[0]?.n).toBe(0);
  });

  it('finds the same customer for the same channel identity, a new one elsewhere', async () => {
    const userId = `u-${randomUUID()}`;
    const first = await store.upsertCustomer({
      channel: 'telegram',
      tenant: 't1',
      userId,
      displayName: 'Ann',
    });
    const again = await store.upsertCustomer({ channel: 'telegram', tenant: 't1', userId });
    const otherChannel = await store.upsertCustomer({ channel: 'slack', tenant: 't1', userId });
    const otherTenant = await store.upsertCustomer({ channel: 'telegram', tenant: 't2', userId });
    expect(again).toBe(first);
    expect(new Set([first, otherChannel, otherTenant]).size).toBe(3);

    expect(await store.findCustomerByIdentity({ channel: 'telegram', tenant: 't1', userId })).toBe(first);
    expect(await store.findCustomerByIdentity({ channel: 'telegram', tenant: 't3', userId })).toBeUndefined();
    // The user id is kept as a keyed hash, the name sealed to its row.
    const hashed = userLookup(store.atRest, userId);
    const nameOf = (row: { display_name: string | null }) =>
      store.atRest.openOrNull(row.display_name, {
        table: 'channel_identities',
        column: 'display_name',
        row: `telegram\u0000t1\u0000${hashed}`,
      });
    const identity = await store.db
      .selectFrom('channel_identities')
      .select(['display_name', 'first_seen_at', 'last_seen_at'])
      .where('user_id', '=', hashed)
      .where('channel', '=', 'telegram')
      .where('tenant', '=', 't1')
      .executeTakeFirstOrThrow();
    expect(identity.display_name).toMatch(/^hub1\./);
    expect(nameOf(identity)).toBe('Ann');
    expect(identity.last_seen_at.getTime()).toBeGreaterThanOrEqual(identity.first_seen_at.getTime());

    await store.upsertCustomer({ channel: 'telegram', tenant: 't1', userId, displayName: 'Ann Lee' });
    const renamed = await store.db
      .selectFrom('channel_identities')
      .select('display_name')
      .where('user_id', '=', hashed)
      .where('channel', '=', 'telegram')
      .executeTakeFirstOrThrow();
    expect(nameOf(renamed)).toBe('Ann Lee');
  });

  it('creates exactly one customer under concurrent first sightings', async () => {
    const before = await count('customers');
    const identity = {
      channel: 'whatsapp',
      tenant: 'default',
      userId: `u-${randomUUID()}`,
      displayName: '王芳',
    };
    const ids = await Promise.all(Array.from({ length: 25 }, () => store.upsertCustomer(identity)));
    expect(new Set(ids).size).toBe(1);
    expect(await count('customers')).toBe(before + 1);
  });

  it('records an inbound event once and links its conversation to the customer', async () => {
    const conversation = fresh();
    const customerId = await store.upsertCustomer({ channel: 'webchat', tenant: 'default', userId: 'u-1' });
    const event = inbound(conversation, 1);
    expect(await store.recordInbound(event, customerId)).toEqual({ inserted: true });
    expect(await store.recordInbound(event, customerId)).toEqual({ inserted: false });
    expect(await store.transcript(conversationKey(conversation))).toHaveLength(1);

    const row = await store.db
      .selectFrom('conversations')
      .selectAll()
      .where('key', '=', conversationLookup(store.atRest, conversationKey(conversation)))
      .executeTakeFirstOrThrow();
    expect(row.conversation).toMatch(/^hub1\./);
    expect(row).toMatchObject({
      channel: 'webchat',
      tenant: 'default',
      customer_id: customerId,
      thread: null,
    });
  });

  it('records an outbound message once', async () => {
    const conversation = fresh();
    const message = outbound(conversation, 'evt-x', 2, 'hello');
    expect(await store.recordOutbound(message)).toEqual({ inserted: true });
    expect(await store.recordOutbound({ ...message, content: { type: 'text', text: 'changed' } })).toEqual({
      inserted: false,
    });
    const entries = await store.transcript(conversationKey(conversation));
    expect(entries.map((e) => [e.direction, e.text, e.inReplyTo])).toEqual([['out', 'hello', 'evt-x']]);
  });

  it('returns the transcript oldest first, limited to the latest entries', async () => {
    const conversation = fresh();
    const key = conversationKey(conversation);
    // Recorded out of order; two share a timestamp and must keep the order they were recorded in.
    for (const [second, text] of [
      [3, 'c'],
      [1, 'a'],
      [2, 'b1'],
      [2, 'b2'],
      [5, 'e'],
    ] as const) {
      await store.recordInbound(inbound(conversation, second, text));
    }
    const all = await store.transcript(key);
    expect(all.map((e) => e.text)).toEqual(['a', 'b1', 'b2', 'c', 'e']);
    expect(all[0]?.at).toBe(at(1));
    expect((await store.transcript(key, { limit: 2 })).map((e) => e.text)).toEqual(['c', 'e']);
    expect((await store.transcript(key, { limit: 3 })).map((e) => e.text)).toEqual(['b2', 'c', 'e']);
    expect(await store.transcript(key, { limit: 0 })).toEqual([]);

    const conv = await store.db
      .selectFrom('conversations')
      .select('last_activity_at')
      .where('key', '=', conversationLookup(store.atRest, key))
      .executeTakeFirstOrThrow();
    expect(conv.last_activity_at.toISOString()).toBe(at(5));
  });

  it('returns the replies to an event in the order they were produced', async () => {
    const conversation = fresh();
    const question = inbound(conversation, 10);
    await store.recordInbound(question);
    await store.recordOutbound(outbound(conversation, question.id, 11, 'first'));
    await store.recordOutbound(outbound(conversation, question.id, 11, 'second'));
    await store.recordOutbound(outbound(conversation, 'evt-other', 11, 'elsewhere'));
    await store.recordOutbound(outbound(conversation, question.id, 12, 'third'));
    await store.recordOutbound(outbound(conversation, question.id, 10, 'zeroth'));
    const replies = await store.repliesTo(question.id);
    expect(replies.map((m) => (m.content.type === 'text' ? m.content.text : ''))).toEqual([
      'zeroth',
      'first',
      'second',
      'third',
    ]);
    expect(await store.repliesTo('evt-never')).toEqual([]);
  });

  it('keeps the full payload, Chinese and emoji included', async () => {
    const conversation = ref(`群聊-${randomUUID()}`, '话题🧵');
    const event: InboundEvent = {
      ...inbound(conversation, 20, '我的订单 #12345 在哪里？😀👍🏽'),
      locale: 'zh-CN',
      sender: { id: 'wx-用户', name: '张伟 🐼' },
      attachments: [{ kind: 'image', fileId: 'f-1', caption: '发票 🧾', sizeBytes: 2048 }],
      channelData: { webchat: { nested: { list: [1, '二', { three: true }], nothing: null } } },
      raw: { 'key with 空格': '值', emoji: '🇨🇳', number: 3.14 },
    };
    const reply: OutboundMessage = {
      id: `${event.id}#0`,
      ref: conversation,
      inReplyTo: event.id,
      content: {
        type: 'card',
        title: '订单状态 📦',
        text: '已发货',
        buttons: [{ id: 'track', title: '跟踪 🚚' }],
      },
      citations: [{ id: 'kb-1', title: '退货政策', source: 'kb/returns.md' }],
      locale: 'zh-CN',
      createdAt: at(21),
      source: 'llm',
    };
    await store.recordInbound(event);
    await store.recordOutbound(reply);

    const [first, second] = await store.transcript(conversationKey(conversation));
    expect(first?.payload).toEqual(event);
    expect(first?.text).toBe('我的订单 #12345 在哪里？😀👍🏽');
    expect(second?.payload).toEqual(reply);
    expect(second?.text).toBe('订单状态 📦\n已发货\n- 跟踪 🚚');
    expect(await store.repliesTo(event.id)).toEqual([reply]);
  });

  it('stores text PostgreSQL would refuse (NUL, lone surrogates) with a replacement character', async () => {
    const conversation = fresh();
    const event = inbound(conversation, 30, 'a\u0000b\uD800c');
    expect(await store.recordInbound(event)).toEqual({ inserted: true });
    const [entry] = await store.transcript(conversationKey(conversation));
    expect(entry?.text).toBe('a\uFFFDb\uFFFDc');
    expect((entry?.payload as InboundEvent | undefined)?.text).toBe('a\uFFFDb\uFFFDc');
  });

  it("never shows a message in another conversation's transcript", async () => {
    const base = `c-${randomUUID()}`;
    const conversations = [
      ref(base),
      ref(base, 'thread-1'),
      ref(`${base}:x`),
      { ...ref(base), tenant: 'other' },
    ];
    for (const [i, conversation] of conversations.entries()) {
      await store.recordInbound(inbound(conversation, i, `only in ${i}`));
    }
    for (const [i, conversation] of conversations.entries()) {
      const entries = await store.transcript(conversationKey(conversation));
      expect(entries.map((e) => e.text)).toEqual([`only in ${i}`]);
      expect(entries[0]?.conversationKey).toBe(conversationKey(conversation));
    }
  });

  it('appends to the audit log and reads it back newest first', async () => {
    const subject = `ticket-${randomUUID()}`;
    await store.audit({
      actor: 'agent:7',
      action: 'ticket.create',
      subject,
      details: { priority: 'high', 备注: '加急' },
    });
    await store.audit({ actor: 'system', action: 'ticket.close', subject, at: at(59) });
    await store.audit({ actor: 'system', action: 'unrelated' });
    const trail = await store.auditTrail({ subject });
    expect(trail.map((e) => e.action).sort()).toEqual(['ticket.close', 'ticket.create']);
    const created = trail.find((e) => e.action === 'ticket.create');
    expect(created).toMatchObject({ actor: 'agent:7', subject, details: { priority: 'high', 备注: '加急' } });
    expect(trail.find((e) => e.action === 'ticket.close')).toMatchObject({ at: at(59), details: {} });
  });
});

describe('createStore', () => {
  it('fails fast with a fix when PostgreSQL is unreachable, without leaking the password', async () => {
    const started = Date.now();
    const error = await createStore(
      hubConfigSchema.parse({
        database: { driver: 'postgres', url: 'postgres://hub:s3cret@127.0.0.1:1/hub' },
      }),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HubError);
    expect(error).toMatchObject({ code: 'store.unavailable', retryable: true });
    expect((error as Error).message).toMatch(/127\.0\.0\.1:1.*start PostgreSQL.*database\.url/);
    expect((error as Error).message).not.toContain('s3cret');
    expect(Date.now() - started).toBeLessThan(6_000);
  });

  it('says so when the database does not exist', async () => {
    const url = new URL(ADMIN_URL);
    url.pathname = '/hub_missing_database';
    const error = await createStore(
      hubConfigSchema.parse({ database: { driver: 'postgres', url: url.toString() } }),
    ).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'store.unavailable' });
    expect((error as Error).message).toMatch(/does not exist.*createdb/);
  });

  it('says which PGlite data directory cannot be used', async () => {
    const error = await createStore(
      hubConfigSchema.parse({ database: { driver: 'pglite', dataDir: '/dev/null/hub/db' } }),
    ).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'store.unavailable' });
    expect((error as Error).message).toMatch(/\/dev\/null\/hub\/db.*database\.dataDir/);
  });

  it('keeps PGlite data on disk across restarts, creating missing parent directories', async () => {
    const root = await mkdtemp(join(tmpdir(), 'hub-store-'));
    const config = hubConfigSchema.parse({
      database: { driver: 'pglite', dataDir: join(root, 'nested', 'db') },
    });
    try {
      const first = await createStore(config);
      const event = inbound(fresh(), 1, 'persisted');
      await first.recordInbound(event);
      await first.close();
      await first.close();

      const second = await createStore(config);
      try {
        expect((await second.transcript(conversationKey(event.ref))).map((e) => e.text)).toEqual([
          'persisted',
        ]);
        expect(await second.recordInbound(event)).toEqual({ inserted: false });
      } finally {
        await second.close();
      }
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
