import { ErrorCode, type WebClient } from '@slack/web-api';
import type { FetchedFile } from '../../core/channels/types';
import { HubError } from '../../core/types';
import { downloadFailed, fileTooLarge, readCapped } from '../shared/download';

const TIMEOUT_MS = 30_000;
const SLACK_FILES_ORIGIN = 'https://files.slack.com';

interface SlackFileInfo {
  id?: string;
  name?: string;
  mimetype?: string;
  size?: number;
  url_private?: string;
  url_private_download?: string;
}

function refused(reason: string): HubError {
  if (reason === 'file_not_found' || reason === 'file_deleted')
    return new HubError('file.not_found', `Slack has no such file (${reason})`, { status: 404 });
  const fix =
    reason === 'missing_scope'
      ? 'add the files:read scope to the app (OAuth & Permissions) and reinstall it'
      : 'check the channel with `hub validate --online`';
  return new HubError('file.platform_refused', `Slack refused files.info: ${reason}. Fix: ${fix}.`, {
    status: 502,
    retryable: reason === 'ratelimited' || reason === 'internal_error' || reason === 'service_unavailable',
  });
}

/**
 * files.info for the private URL, then a GET with the bot token
 * (https://api.slack.com/types/file#authentication). The token goes only to Slack's file host or
 * the configured API's own origin, never to a URL an event happened to carry.
 */
export async function fetchSlackFile(options: {
  channel: string;
  client: WebClient;
  botToken: string;
  apiUrl: string;
  maxFileBytes: number;
  fileId?: string;
  url?: string;
}): Promise<FetchedFile> {
  const { channel, maxFileBytes } = options;
  const trusted = new Set([SLACK_FILES_ORIGIN, new URL(options.apiUrl).origin]);
  let info: SlackFileInfo = {};
  let url = options.url && trusted.has(new URL(options.url).origin) ? options.url : undefined;
  if (options.fileId && !url) {
    try {
      const result = await options.client.files.info({ file: options.fileId });
      info = (result.file ?? {}) as SlackFileInfo;
    } catch (error) {
      const failure = error as { code?: string; data?: { error?: string } };
      if (failure.code === ErrorCode.PlatformError) throw refused(failure.data?.error ?? 'unknown');
      throw downloadFailed(channel, error);
    }
    url = info.url_private_download ?? info.url_private;
  }
  if (!url) throw new HubError('file.not_found', 'Slack gave no download URL for this file', { status: 404 });
  if (!trusted.has(new URL(url).origin)) {
    throw new HubError(
      'file.untrusted_url',
      `The file's URL is not on ${SLACK_FILES_ORIGIN}; the bot token is not sent elsewhere`,
      { status: 502 },
    );
  }
  if (info.size !== undefined && info.size > maxFileBytes)
    throw fileTooLarge(channel, info.size, maxFileBytes);
  let response: Response;
  try {
    response = await fetch(url, {
      headers: { authorization: `Bearer ${options.botToken}` },
      // Slack answers an unauthorised download with a redirect to its sign-in page, not a 401.
      redirect: 'manual',
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (error) {
    throw downloadFailed(channel, error);
  }
  if (response.status >= 300 && response.status < 400) {
    await response.body?.cancel();
    throw new HubError(
      'file.platform_refused',
      'Slack redirected the download to its sign-in page: the bot token may not read this file. Fix: add the files:read scope and make sure the file is shared where the bot is.',
      { status: 502 },
    );
  }
  if (response.status === 404) {
    await response.body?.cancel();
    throw new HubError('file.not_found', 'Slack no longer has this file (404 on download)', { status: 404 });
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new HubError('file.platform_refused', `Slack answered ${response.status} to the download`, {
      status: 502,
      retryable: response.status >= 500,
    });
  }
  const body = await readCapped(response, channel, maxFileBytes);
  const mimeType =
    info.mimetype ??
    response.headers.get('content-type')?.split(';')[0]?.trim() ??
    'application/octet-stream';
  const name = info.name ?? decodeURIComponent(new URL(url).pathname.split('/').pop() ?? '');
  return { body, mimeType, ...(name ? { name } : {}), size: body.length };
}
