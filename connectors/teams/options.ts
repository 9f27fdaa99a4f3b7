import { z } from 'zod';
import { DEFAULT_MAX_FILE_BYTES } from '../shared/download';
import { streamingOptionFields } from '../shared/streaming';

/** Where the Bot Connector service publishes its signing keys (Bot Connector authentication, protocol v3.1). */
export const BOT_FRAMEWORK_OPENID_METADATA =
  'https://login.botframework.com/v1/.well-known/openidconfiguration';
export const BOT_FRAMEWORK_ISSUER = 'https://api.botframework.com';
/** Teams' public proactive endpoint, used only when no activity has told the hub a conversation's serviceUrl. */
export const TEAMS_GLOBAL_SERVICE_URL = 'https://smba.trafficmanager.net/teams/';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const teamsOptionsSchema = z.object({
  id: z.string(),
  tenant: z.string().default('default'),
  /** Microsoft App ID of the bot registration: the audience of inbound tokens, the client id of outbound ones. */
  appId: z.string({ error: 'is missing' }).regex(GUID, 'is not a Microsoft App ID (a GUID)'),
  appPassword: z.string({ error: 'is missing' }).min(1, 'is empty'),
  /** Entra tenant of a single-tenant bot registration; its token endpoint then is that tenant's. */
  tenantId: z.string().min(1).optional(),
  /**
   * Entra tenants (channelData.tenant.id) whose users may talk to the bot; others get 403.
   * `"*"` lets any tenant in, for a bot published to every organization.
   */
  allowedTenants: z
    .array(z.string().regex(/^(\*|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/i))
    .min(1, 'must name at least one tenant id, or "*" for every tenant'),
  openIdMetadataUrl: z.url().default(BOT_FRAMEWORK_OPENID_METADATA),
  /** `iss` of the Bot Connector's tokens (https://api.botframework.us in the US government cloud). */
  issuer: z.string().default(BOT_FRAMEWORK_ISSUER),
  /** OAuth2 client-credentials endpoint for outbound tokens; default from tenantId. */
  tokenEndpoint: z.url().optional(),
  oauthScope: z.string().default('https://api.botframework.com/.default'),
  /** For proactive messages to conversations the hub has not heard from yet. */
  serviceUrl: z.url().default(TEAMS_GLOBAL_SERVICE_URL),
  /**
   * serviceUrl prefixes the hub may talk to (e.g. https://smba.trafficmanager.net/). Activities naming
   * another serviceUrl are refused with 403 and nothing is sent there. Unset: any serviceUrl the
   * Bot Connector signed.
   */
  serviceUrls: z.array(z.url()).optional(),
  /** The synchronous answer to an Adaptive Card Action.Execute; the real answer follows as a message. */
  invokeAcknowledgement: z.string().min(1).default('Received.'),
  /** Cap for GET /admin/channels/<id>/files/<fileId>. */
  maxFileBytes: z.coerce.number().int().positive().default(DEFAULT_MAX_FILE_BYTES),
  ...streamingOptionFields,
});

export type TeamsOptions = z.infer<typeof teamsOptionsSchema>;

export const teamsHints: Record<string, string> = {
  appId: 'set appId: ${TEAMS_APP_ID} and export the Microsoft App ID of the Azure Bot registration',
  appPassword: 'set appPassword: ${TEAMS_APP_PASSWORD} and export a client secret of that app registration',
  allowedTenants:
    'list the Entra tenant ids (GUIDs) whose Teams users may use the bot, e.g. allowedTenants: [${TEAMS_TENANT_ID}]',
  openIdMetadataUrl: 'leave it out for the public Bot Framework cloud',
  tokenEndpoint:
    'leave it out; it defaults to https://login.microsoftonline.com/<tenantId or botframework.com>/oauth2/v2.0/token',
  serviceUrls: 'list URL prefixes such as https://smba.trafficmanager.net/',
};

export function tokenEndpointOf(options: TeamsOptions): string {
  return (
    options.tokenEndpoint ??
    `https://login.microsoftonline.com/${options.tenantId ?? 'botframework.com'}/oauth2/v2.0/token`
  );
}

/** True when `url` is under one of the allowed prefixes (or no list is configured). */
export function serviceUrlAllowed(url: string, allowed: string[] | undefined): boolean {
  if (!allowed) return true;
  const normalized = withSlash(url).toLowerCase();
  return allowed.some((prefix) => normalized.startsWith(withSlash(prefix).toLowerCase()));
}

export const withSlash = (url: string) => (url.endsWith('/') ? url : `${url}/`);
