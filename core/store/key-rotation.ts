import { type Kysely, type RawBuilder, sql } from 'kysely';
import { AtRest } from '../privacy/at-rest';
import { conversationLookup, userLookup } from './rows';
import type { Database } from './schema';

/**
 * Every column that holds a sealed value (core/privacy/at-rest.ts), with the SQL that names the
 * row a value is bound to. `hub keys rotate` walks them; the privacy test reads every column of
 * every table, so a column with personal data missing here fails it.
 */
export interface SealedColumn {
  table: string;
  column: string;
  /** jsonb (a sealed value is a JSON string) rather than text. */
  json: boolean;
  /**
   * SQL for the row identity the value is bound to; absent where old rows cannot be sealed in place
   * (their row identity is itself in clear and changes when the hub next sees them).
   */
  row?: RawBuilder<string>;
}

export const SEALED_COLUMNS: readonly SealedColumn[] = [
  { table: 'messages', column: 'text', json: false, row: sql`id` },
  { table: 'messages', column: 'payload', json: true, row: sql`id` },
  { table: 'customers', column: 'display_name', json: false, row: sql`id::text` },
  { table: 'channel_identities', column: 'display_name', json: false },
  { table: 'conversations', column: 'conversation', json: false },
  { table: 'conversations', column: 'thread', json: false },
  { table: 'ticket_requests', column: 'draft', json: true, row: sql`id` },
  { table: 'ticket_comments', column: 'body', json: false, row: sql`event_id` },
  { table: 'demo_tickets', column: 'subject', json: false, row: sql`idempotency_key` },
  { table: 'demo_tickets', column: 'draft', json: true, row: sql`idempotency_key` },
  { table: 'demo_ticket_comments', column: 'text', json: false, row: sql`ticket_id::text` },
  { table: 'rejected_webhooks', column: 'body', json: false, row: sql`channel` },
  { table: 'intent_labels', column: 'example', json: false, row: sql`id` },
];

export interface RotationReport {
  activeKeyId: string;
  /** Values whose data key was re-wrapped under the active key. */
  rewrapped: number;
  /** Values written before encryption at rest, now sealed. */
  sealed: number;
  /** Rows whose lookup column (conversation key, user id, dedupe key) was in clear, now hashed. */
  hashed: number;
  /** Sealed values per key id after the run: old ids at 0 may leave the key provider. */
  byKey: Record<string, number>;
}

const BATCH = 500;

/**
 * Re-wrap every sealed value under the active key and seal the values written in clear before
 * encryption at rest, batch by batch, each batch its own short transaction: the hub keeps serving
 * meanwhile (readers accept every key the provider holds, writers use the active one). Safe to
 * stop and run again.
 */
export async function rotateDataKeys(
  db: Kysely<Database>,
  atRest: AtRest,
  options: { batch?: number; onProgress?: (line: string) => void } = {},
): Promise<RotationReport> {
  const batch = options.batch ?? BATCH;
  const active = atRest.keys.activeKeyId;
  let rewrapped = 0;
  let sealed = 0;
  // Lookup columns first: a conversation's or identity's row is bound to the hash, so its sealed
  // columns are written in the same step.
  const { hashed, sealed: sealedWithLookups } = await hashLegacyLookups(db, atRest, batch);
  sealed += sealedWithLookups;
  for (const spec of SEALED_COLUMNS) {
    const value = spec.json
      ? sql<string>`${sql.ref(spec.column)} #>> '{}'`
      : sql<string>`${sql.ref(spec.column)}`;
    const isString = spec.json ? sql`jsonb_typeof(${sql.ref(spec.column)}) = 'string' and ` : sql``;
    for (;;) {
      const { rows } = await sql<{ value: string }>`
        select ${value} as value from ${sql.table(spec.table)}
         where ${isString}${value} like 'hub1.%' and split_part(${value}, '.', 2) <> ${active}
         limit ${batch}`.execute(db);
      if (rows.length === 0) break;
      const pairs = rows.map((row) => [row.value, atRest.rewrap(row.value) ?? row.value] as const);
      await updateValues(db, spec, pairs);
      rewrapped += rows.length;
    }
    if (spec.row) {
      for (;;) {
        const { rows } = await sql<{ row_key: string; value: string }>`
          select ${spec.row} as row_key, ${spec.json ? sql`${sql.ref(spec.column)}::text` : value} as value
            from ${sql.table(spec.table)}
           where ${sql.ref(spec.column)} is not null
             and not (${isString}${value} like 'hub1.%')
           limit ${batch}`.execute(db);
        if (rows.length === 0) break;
        const where = { table: spec.table, column: spec.column };
        const pairs = rows.map((row) => {
          const sealedValue = atRest.seal(row.value, { ...where, row: row.row_key });
          return [row.value, spec.json ? JSON.stringify(sealedValue) : sealedValue, row.row_key] as const;
        });
        await sealValues(db, spec, pairs);
        sealed += rows.length;
      }
    }
    options.onProgress?.(`${spec.table}.${spec.column}: done`);
  }
  return { activeKeyId: active, rewrapped, sealed, hashed, byKey: await countByKey(db) };
}

/**
 * Rows a hub wrote before encryption at rest keep their conversation key, platform user id or
 * ticket dedupe key in clear; each gets its keyed hash (and its conversation id, thread and name
 * sealed). A conversation moves to its hashed key with its messages and ticket requests in one
 * transaction. Audit records keep theirs: rewriting them would break the hash chain.
 */
async function hashLegacyLookups(
  db: Kysely<Database>,
  atRest: AtRest,
  batch: number,
): Promise<{ hashed: number; sealed: number }> {
  let hashed = 0;
  let sealed = 0;
  for (;;) {
    const { rows } = await sql<{
      key: string;
      conversation: string;
      thread: string | null;
    }>`select key, conversation, thread from conversations where key not like 'h1.%' limit ${batch}`.execute(
      db,
    );
    if (rows.length === 0) break;
    for (const row of rows) {
      const key = conversationLookup(atRest, row.key);
      const where = (column: string) => ({ table: 'conversations', column, row: key });
      await db.transaction().execute(async (trx) => {
        await sql`
          insert into conversations (key, channel, tenant, conversation, thread, customer_id, created_at, last_activity_at)
          select ${key}, channel, tenant, ${atRest.seal(atRest.open(row.conversation, where('conversation')), where('conversation'))},
                 ${row.thread === null ? null : atRest.seal(row.thread, where('thread'))}, customer_id, created_at, last_activity_at
            from conversations where key = ${row.key}
          on conflict (key) do update set
            created_at = least(conversations.created_at, excluded.created_at),
            last_activity_at = greatest(conversations.last_activity_at, excluded.last_activity_at),
            customer_id = coalesce(conversations.customer_id, excluded.customer_id)`.execute(trx);
        await sql`update messages set conversation_key = ${key} where conversation_key = ${row.key}`.execute(
          trx,
        );
        await sql`update ticket_requests set conversation_key = ${key} where conversation_key = ${row.key}`.execute(
          trx,
        );
        await sql`delete from conversations where key = ${row.key}`.execute(trx);
      });
      hashed++;
      sealed += row.thread === null ? 1 : 2;
    }
  }
  for (;;) {
    const { rows } = await sql<{ id: string; conversation_key: string; dedupe_key: string }>`
      select id, conversation_key, dedupe_key from ticket_requests
       where conversation_key not like 'h1.%' or dedupe_key not like 'h1.%' limit ${batch}`.execute(db);
    if (rows.length === 0) break;
    for (const row of rows) {
      const hash = (value: string, purpose: string) =>
        value.startsWith('h1.') ? value : atRest.lookup(purpose, value);
      await sql`
        update ticket_requests
           set conversation_key = ${hash(row.conversation_key, 'conversation')},
               dedupe_key = ${hash(row.dedupe_key, 'ticket-dedupe')}
         where id = ${row.id}`.execute(db);
      hashed++;
    }
  }
  for (;;) {
    const { rows } = await sql<{
      channel: string;
      tenant: string;
      user_id: string;
      display_name: string | null;
    }>`
      select channel, tenant, user_id, display_name from channel_identities
       where user_id not like 'h1.%' limit ${batch}`.execute(db);
    if (rows.length === 0) break;
    for (const row of rows) {
      const userId = userLookup(atRest, row.user_id);
      const name = atRest.sealOrNull(row.display_name, {
        table: 'channel_identities',
        column: 'display_name',
        row: `${row.channel}\u0000${row.tenant}\u0000${userId}`,
      });
      const seen = await sql<{ n: string }>`
        select count(*) as n from channel_identities
         where channel = ${row.channel} and tenant = ${row.tenant} and user_id = ${userId}`.execute(db);
      // Seen again since (its hashed row exists): the row in clear is a duplicate of it.
      if (Number(seen.rows[0]?.n) > 0) {
        await sql`delete from channel_identities
                   where channel = ${row.channel} and tenant = ${row.tenant} and user_id = ${row.user_id}`.execute(
          db,
        );
      } else {
        await sql`update channel_identities set user_id = ${userId}, display_name = ${name}
                   where channel = ${row.channel} and tenant = ${row.tenant} and user_id = ${row.user_id}`.execute(
          db,
        );
        if (name !== null) sealed++;
      }
      hashed++;
    }
  }
  return { hashed, sealed };
}

async function updateValues(
  db: Kysely<Database>,
  spec: SealedColumn,
  pairs: ReadonlyArray<readonly [string, string]>,
) {
  const olds = pairs.map(([old]) => old);
  const news = pairs.map(([, next]) => next);
  const column = sql.ref(spec.column);
  const target = sql.ref(`t.${spec.column}`);
  await sql`
    update ${sql.table(spec.table)} as t
       set ${column} = ${spec.json ? sql`to_jsonb(v.new_value)` : sql`v.new_value`}
      from unnest(${olds}::text[], ${news}::text[]) as v(old_value, new_value)
     where ${target} = ${spec.json ? sql`to_jsonb(v.old_value)` : sql`v.old_value`}`.execute(db);
}

async function sealValues(
  db: Kysely<Database>,
  spec: SealedColumn,
  triples: ReadonlyArray<readonly [string, string, string]>,
) {
  const olds = triples.map(([old]) => old);
  const news = triples.map(([, next]) => next);
  const rows = triples.map(([, , row]) => row);
  const column = sql.ref(spec.column);
  const target = spec.json ? sql`${sql.ref(`t.${spec.column}`)}::text` : sql.ref(`t.${spec.column}`);
  // The row expression is unqualified (e.g. `id`): it resolves to the updated table's column.
  await sql`
    update ${sql.table(spec.table)} as t
       set ${column} = ${spec.json ? sql`v.new_value::jsonb` : sql`v.new_value`}
      from unnest(${olds}::text[], ${news}::text[], ${rows}::text[]) as v(old_value, new_value, row_key)
     where ${target} = v.old_value and ${spec.row} = v.row_key`.execute(db);
}

/** How many sealed values each key id wraps, over every sealed column. */
export async function countByKey(db: Kysely<Database>): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const spec of SEALED_COLUMNS) {
    const value = spec.json
      ? sql<string>`${sql.ref(spec.column)} #>> '{}'`
      : sql<string>`${sql.ref(spec.column)}`;
    const isString = spec.json ? sql`jsonb_typeof(${sql.ref(spec.column)}) = 'string' and ` : sql``;
    const { rows } = await sql<{ key_id: string; n: string }>`
      select split_part(${value}, '.', 2) as key_id, count(*) as n from ${sql.table(spec.table)}
       where ${isString}${value} like 'hub1.%'
       group by 1`.execute(db);
    for (const row of rows) counts[row.key_id] = (counts[row.key_id] ?? 0) + Number(row.n);
  }
  return counts;
}

export { AtRest };
