import type { FetchedFile } from '../../core/channels/types';
import { HubError } from '../../core/types';
import { downloadFailed, readCapped } from '../shared/download';
import type { BotTokenProvider } from './token';

const TIMEOUT_MS = 30_000;
const PREFIX = 'u.';

/**
 * Teams gives no file ids, only URLs: the hub's `fileId` is the URL itself, base64url-encoded, so
 * `GET /admin/channels/<id>/files/<fileId>` can name it in one path segment.
 */
export const teamsFileId = (url: string) => `${PREFIX}${Buffer.from(url, 'utf8').toString('base64url')}`;

function urlOf(attachment: { fileId?: string; url?: string }): URL | undefined {
  const raw =
    attachment.url ??
    (attachment.fileId?.startsWith(PREFIX)
      ? Buffer.from(attachment.fileId.slice(PREFIX.length), 'base64url').toString('utf8')
      : undefined);
  if (!raw) return undefined;
  try {
    return new URL(raw);
  } catch {
    return undefined;
  }
}

/** Bot Connector hosts: inline images there need the bot's token (`contentUrl` …/v3/attachments/…). */
const isBotConnectorHost = (host: string) =>
  host === 'smba.trafficmanager.net' ||
  host.endsWith('.botframework.com') ||
  host.endsWith('.teams.microsoft.com');

/**
 * Download an attachment a customer sent. Inline images live on the Bot Connector and are fetched
 * with the bot token, which goes only to Bot Connector hosts (or the configured serviceUrls); files
 * come with a pre-authorized SharePoint `downloadUrl` and are fetched without it. Any other URL is
 * not a Teams file and is refused unfetched, so an operator's fileId cannot point the hub elsewhere.
 */
export async function fetchTeamsFile(options: {
  channel: string;
  attachment: { fileId?: string; url?: string };
  tokens: BotTokenProvider;
  /** Origins of the configured serviceUrl(s), trusted with the token like the public Bot Connector. */
  trustedOrigins: string[];
  maxFileBytes: number;
}): Promise<FetchedFile> {
  const url = urlOf(options.attachment);
  if (!url) throw new HubError('file.not_found', 'Not a Teams file id', { status: 404 });
  const withToken =
    options.trustedOrigins.includes(url.origin) ||
    (url.protocol === 'https:' && isBotConnectorHost(url.hostname));
  const sharePoint = url.protocol === 'https:' && url.hostname.endsWith('.sharepoint.com');
  if (!withToken && !sharePoint) {
    throw new HubError('file.not_found', `Not a Teams file URL (${url.hostname}); nothing was fetched`, {
      status: 404,
    });
  }
  let response: Response;
  try {
    response = await fetch(url, {
      headers: withToken ? { authorization: `Bearer ${await options.tokens.token()}` } : {},
      // A redirect would carry the request elsewhere; the token must not follow it.
      redirect: withToken ? 'manual' : 'follow',
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (error) {
    if (error instanceof HubError) throw error;
    throw downloadFailed(options.channel, error);
  }
  if (response.status === 404) {
    await response.body?.cancel();
    throw new HubError('file.not_found', 'Teams no longer has this file (404)', { status: 404 });
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new HubError(
      'file.platform_refused',
      `Teams answered ${response.status} to the download.${response.status === 401 || response.status === 403 ? ' Fix: check appId/appPassword with the token endpoint; SharePoint links expire, ask the customer to send the file again.' : ''}`,
      { status: 502, retryable: response.status >= 500 },
    );
  }
  const body = await readCapped(response, options.channel, options.maxFileBytes);
  const mimeType = response.headers.get('content-type')?.split(';')[0]?.trim() || 'application/octet-stream';
  const name = decodeURIComponent(url.pathname.split('/').pop() ?? '');
  return { body, mimeType, ...(name ? { name } : {}), size: body.length };
}
