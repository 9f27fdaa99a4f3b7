import type { Kysely } from 'kysely';
import { atRestOf } from './at-rest';
import { userLookup } from './rows';
import type { Database } from './schema';

/** A customer as an operator names one: the hub's customer id, or a platform user on a channel. */
export type CustomerTarget =
  | { kind: 'customer'; customerId: string }
  | { kind: 'identity'; channel: string; userId: string; tenant?: string };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * `<uuid>` or `<channel>:<userId>` (the channel id from the config, then the platform's user id,
 * which may itself contain ":"); undefined when the text is neither.
 */
export function parseCustomerTarget(text: string, tenant?: string): CustomerTarget | undefined {
  const trimmed = text.trim();
  if (UUID.test(trimmed)) return { kind: 'customer', customerId: trimmed.toLowerCase() };
  const colon = trimmed.indexOf(':');
  if (colon <= 0 || colon === trimmed.length - 1) return undefined;
  return {
    kind: 'identity',
    channel: trimmed.slice(0, colon),
    userId: trimmed.slice(colon + 1),
    ...(tenant === undefined ? {} : { tenant }),
  };
}

/**
 * The customers behind a platform user on a channel (in one tenant, or in every tenant of the
 * channel). `channel_identities.user_id` holds the id's keyed hash (core/store/rows.ts
 * `userLookup`, as `KyselyStore.findCustomerByIdentity` matches it); rows from before encryption at
 * rest hold the id in clear and are found too. Unlike that method, the tenant may be left out.
 */
export async function customerIdsByIdentity(
  db: Kysely<Database>,
  identity: { channel: string; userId: string; tenant?: string },
): Promise<string[]> {
  let query = db
    .selectFrom('channel_identities')
    .select('customer_id')
    .distinct()
    .where('channel', '=', identity.channel)
    .where('user_id', 'in', [userLookup(atRestOf(db), identity.userId), identity.userId]);
  if (identity.tenant !== undefined) query = query.where('tenant', '=', identity.tenant);
  const rows = await query.execute();
  return rows.map((row) => row.customer_id);
}

/** The customer ids a target names that exist (none when already erased). */
export async function resolveCustomerTarget(db: Kysely<Database>, target: CustomerTarget): Promise<string[]> {
  if (target.kind === 'identity') return customerIdsByIdentity(db, target);
  const row = await db
    .selectFrom('customers')
    .select('id')
    .where('id', '=', target.customerId)
    .executeTakeFirst();
  return row ? [row.id] : [];
}
