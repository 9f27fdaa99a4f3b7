import { type Kysely, type RawBuilder, sql } from 'kysely';
import { AtRest } from '../privacy/at-rest';
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
];

export interface RotationReport {
  activeKeyId: string;
  /** Values whose data key was re-wrapped under the active key. */
  rewrapped: number;
  /** Values written before encryption at rest, now sealed. */
  sealed: number;
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
  return { activeKeyId: active, rewrapped, sealed, byKey: await countByKey(db) };
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
