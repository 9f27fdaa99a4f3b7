import type { Kysely } from 'kysely';
import type { ChannelAccess } from '../channels/types';
import type { Database } from '../store/schema';
import { ApiKeyStore } from './api-keys';
import { loadServerSecret, SESSION_SECRET_ENV } from './server-secrets';
import { SessionTokens } from './session-tokens';

/**
 * What channels authenticate with, once per process: API keys from the database, and the web
 * chat's session-token key from HUB_SESSION_SECRET or, unset, the one the hub keeps in its database.
 */
export async function createChannelAccess(
  db: Kysely<Database>,
): Promise<ChannelAccess & { apiKeys: ApiKeyStore }> {
  const sessionKey = await loadServerSecret(db, 'webchat-session', {
    variable: SESSION_SECRET_ENV,
    value: process.env[SESSION_SECRET_ENV],
  });
  return { apiKeys: new ApiKeyStore(db), sessionTokens: new SessionTokens(sessionKey) };
}
