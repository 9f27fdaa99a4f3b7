import { createHash, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { constantTimeEqual } from '../resilience/constant-time';
import { isOutage } from '../resilience/outage';
import type { Database } from '../store/schema';
import { HubError } from '../types/errors';
import { type SecurityDatabase, securityDb } from './schema';

/**
 * API keys for REST integrations: `hub_<id>_<secret>`, greppable in code and logs by its `hub_`
 * start. The id (10 lower-case letters and digits) is public: it names the row and the key in
 * listings. The secret is 256 random bits, so the stored SHA-256 of the whole key cannot be
 * reversed by guessing; a slow password hash or a server-keyed HMAC would add nothing but a
 * secret to lose.
 */
const KEY_PATTERN = /^hub_([a-z0-9]{10})_([0-9a-f]{64})$/;
const ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** Who a valid key speaks for. */
export interface ApiKeyPrincipal {
  id: string;
  tenant: string;
  name: string;
}

/** What a channel needs: the principal of a presented key, or undefined for an unknown or revoked one. */
export interface ApiKeyAuthenticator {
  authenticate(presented: string): Promise<ApiKeyPrincipal | undefined>;
}

export interface ApiKeyInfo extends ApiKeyPrincipal {
  createdAt: string;
  revokedAt?: string;
}

export interface CreatedApiKey extends ApiKeyInfo {
  /** Shown once, at creation; the hub keeps only its hash. */
  key: string;
}

export const hashApiKey = (key: string): string => createHash('sha256').update(key).digest('hex');

function newKeyId(): string {
  // 36 symbols from bytes by modulo: a slight bias is harmless for a public identifier.
  return Array.from(randomBytes(10), (byte) => ID_ALPHABET[byte % ID_ALPHABET.length]).join('');
}

const TENANT_PATTERN = /^[\w.-]{1,128}$/;

export class ApiKeyStore implements ApiKeyAuthenticator {
  private readonly db: Kysely<SecurityDatabase>;

  constructor(db: Kysely<Database>) {
    this.db = securityDb(db);
  }

  async create(tenant: string, name: string): Promise<CreatedApiKey> {
    if (!TENANT_PATTERN.test(tenant)) {
      throw new HubError('api_keys.invalid', 'tenant: use 1-128 letters, digits, ".", "_" or "-"', {
        status: 400,
      });
    }
    const label = name.trim();
    if (label.length < 1 || label.length > 200) {
      throw new HubError('api_keys.invalid', 'name: give the key a name of 1-200 characters', {
        status: 400,
      });
    }
    const id = newKeyId();
    const key = `hub_${id}_${randomBytes(32).toString('hex')}`;
    const row = await this.db
      .insertInto('api_keys')
      .values({ id, tenant, name: label, secret_hash: hashApiKey(key) })
      .returning(['created_at'])
      .executeTakeFirstOrThrow();
    return { id, tenant, name: label, createdAt: row.created_at.toISOString(), key };
  }

  /** Every key, newest first, revoked ones too; never a secret or its hash. */
  async list(): Promise<ApiKeyInfo[]> {
    const rows = await this.db
      .selectFrom('api_keys')
      .select(['id', 'tenant', 'name', 'created_at', 'revoked_at'])
      .orderBy('created_at', 'desc')
      .orderBy('id')
      .execute();
    return rows.map((row) => ({
      id: row.id,
      tenant: row.tenant,
      name: row.name,
      createdAt: row.created_at.toISOString(),
      ...(row.revoked_at ? { revokedAt: row.revoked_at.toISOString() } : {}),
    }));
  }

  /** True when the key existed and was not yet revoked. Revocation is immediate for every process. */
  async revoke(id: string): Promise<boolean> {
    const result = await this.db
      .updateTable('api_keys')
      .set({ revoked_at: new Date().toISOString() })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async authenticate(presented: string): Promise<ApiKeyPrincipal | undefined> {
    const match = KEY_PATTERN.exec(presented);
    if (!match) return undefined;
    let row: { id: string; tenant: string; name: string; secret_hash: string } | undefined;
    try {
      row = await this.db
        .selectFrom('api_keys')
        .select(['id', 'tenant', 'name', 'secret_hash'])
        .where('id', '=', match[1] as string)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
    } catch (error) {
      if (!isOutage(error)) throw error;
      // The caller must try again later, not be told its key is wrong.
      throw new HubError('store.unavailable', 'API keys cannot be checked now (database unreachable)', {
        cause: error,
        retryable: true,
        status: 503,
      });
    }
    if (!row || !constantTimeEqual(row.secret_hash, hashApiKey(presented))) return undefined;
    return { id: row.id, tenant: row.tenant, name: row.name };
  }
}

/** The bearer token of an `Authorization` header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  return /^Bearer[ \t]+(\S+)\s*$/i.exec(header ?? '')?.[1];
}
