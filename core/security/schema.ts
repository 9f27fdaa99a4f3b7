import type { ColumnType, Kysely } from 'kysely';
import type { Database } from '../store/schema';

/** Row types of migration 0005, kept beside the code that owns those tables. */

type CreatedAt = ColumnType<Date, string | undefined, never>;

export interface ApiKeysTable {
  /** The key's public prefix: in the key itself, so a key names its row. */
  id: string;
  tenant: string;
  name: string;
  /** Hex SHA-256 of the whole key. */
  secret_hash: string;
  created_at: CreatedAt;
  revoked_at: ColumnType<Date | null, string | null | undefined, string | null>;
}

export interface ServerSecretsTable {
  name: string;
  /** base64 of the random bytes. */
  secret: string;
  created_at: CreatedAt;
}

export interface SecurityDatabase extends Database {
  api_keys: ApiKeysTable;
  server_secrets: ServerSecretsTable;
}

/** The store's connection, seen with the security tables (they exist once migration 0005 ran). */
export function securityDb(db: Kysely<Database>): Kysely<SecurityDatabase> {
  return db as unknown as Kysely<SecurityDatabase>;
}
