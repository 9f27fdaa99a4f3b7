import type { OnlineCheck } from '../../core/channels/types';
import { DeliveryError } from '../../core/outbound/errors';
import { parseChannelOptions } from '../shared/options';
import { teamsHints, teamsOptionsSchema, tokenEndpointOf } from './options';
import { BotTokenProvider } from './token';

const origin = (url: string) => new URL(url).origin;

async function getJson(url: string, what: string, signal: AbortSignal): Promise<Record<string, unknown>> {
  let response: Response;
  try {
    response = await fetch(url, { signal });
  } catch (error) {
    const code = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name;
    throw new Error(
      `${what}: no answer from ${origin(url)} (${code}). Fix: check openIdMetadataUrl and the network.`,
    );
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new Error(
      `${what}: HTTP ${response.status} from ${origin(url)}. Fix: ${response.status >= 500 || response.status === 429 ? 'retry later' : teamsHints.openIdMetadataUrl}.`,
    );
  }
  const body = (await response.json().catch(() => undefined)) as Record<string, unknown> | undefined;
  if (!body || typeof body !== 'object') {
    throw new Error(`${what}: ${origin(url)} did not answer JSON. Fix: ${teamsHints.openIdMetadataUrl}.`);
  }
  return body;
}

/**
 * `hub validate --online`: a Bot Connector token by client credentials from the configured token
 * endpoint (what every reply needs), then the OpenID metadata and its key set (what every inbound
 * activity is verified against).
 */
export const checkTeamsOnline: OnlineCheck = async (config, { signal }) => {
  const options = parseChannelOptions({ config }, teamsOptionsSchema, teamsHints);
  const endpoint = tokenEndpointOf(options);
  const tokens = new BotTokenProvider({
    endpoint,
    appId: options.appId,
    appPassword: options.appPassword,
    scope: options.oauthScope,
  });
  try {
    await tokens.token();
  } catch (error) {
    const failure = error as DeliveryError;
    if (failure instanceof DeliveryError && failure.code === 'teams.token_refused' && !failure.retryable) {
      throw new Error(
        `bot token from ${origin(endpoint)}: ${failure.message}. Fix: ${teamsHints.appPassword}; a single-tenant bot also needs tenantId.`,
      );
    }
    if (failure instanceof DeliveryError && failure.code === 'teams.token_refused') {
      const reason = /\(([^)]+)\)/.exec(failure.message)?.[1] ?? 'busy';
      throw new Error(
        `bot token from ${origin(endpoint)}: the identity platform is throttling or unavailable (${reason}). Fix: retry later.`,
      );
    }
    throw new Error(
      `bot token: no answer from ${origin(endpoint)}. Fix: check tokenEndpoint and the network.`,
    );
  }
  signal.throwIfAborted();
  const metadata = await getJson(options.openIdMetadataUrl, 'OpenID metadata', signal);
  if (typeof metadata.jwks_uri !== 'string') {
    throw new Error(
      `OpenID metadata at ${origin(options.openIdMetadataUrl)} has no jwks_uri. Fix: ${teamsHints.openIdMetadataUrl}.`,
    );
  }
  const keySet = await getJson(metadata.jwks_uri, 'signing keys', signal);
  const keys = Array.isArray(keySet.keys) ? keySet.keys.length : 0;
  if (keys === 0) {
    throw new Error(
      `no signing keys at ${origin(metadata.jwks_uri)}: inbound activities could not be verified. Fix: ${teamsHints.openIdMetadataUrl}.`,
    );
  }
  return `bot token ok, ${keys} signing key${keys === 1 ? '' : 's'} from ${origin(options.openIdMetadataUrl)}`;
};
