import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema';
import { HubError } from '../types/errors';
import { securityDb } from './schema';

export const SESSION_SECRET_ENV = 'HUB_SESSION_SECRET';

/**
 * A server key: from the environment when the operator gives one (at least 32 characters), else
 * random bytes the hub generates once and keeps in the database (table server_secrets), so
 * restarts and every replica on the same database use the same key. Whoever can read the
 * database can read such a key; set the variable to keep it elsewhere.
 */
export async function loadServerSecret(
  db: Kysely<Database>,
  name: string,
  fromEnv: { variable: string; value: string | undefined },
): Promise<Buffer> {
  if (fromEnv.value) {
    if (fromEnv.value.length < 32) {
      throw new HubError(
        'config.invalid',
        `${fromEnv.variable} is too short: use at least 32 random characters (e.g. openssl rand -base64 48), or unset it and the hub keeps a generated key in its database.`,
      );
    }
    return Buffer.from(fromEnv.value);
  }
  const secrets = securityDb(db);
  await secrets
    .insertInto('server_secrets')
    .values({ name, secret: randomBytes(32).toString('base64') })
    .onConflict((conflict) => conflict.column('name').doNothing())
    .execute();
  // Read back: a replica that lost the race uses the winner's key.
  const row = await secrets
    .selectFrom('server_secrets')
    .select('secret')
    .where('name', '=', name)
    .executeTakeFirstOrThrow();
  return Buffer.from(row.secret, 'base64');
}
