import { posix } from 'node:path';
import type { Telegram } from 'telegraf';
import type { FetchedFile } from '../../core/channels/types';
import { HubError } from '../../core/types';
import { downloadFailed, fileTooLarge, readCapped } from '../shared/download';
import { signalOption } from './sender';

const TIMEOUT_MS = 30_000;

const BY_EXTENSION: Record<string, string> = {
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.png': 'image/png',
  '.webp': 'image/webp',
  '.gif': 'image/gif',
  '.mp4': 'video/mp4',
  '.oga': 'audio/ogg',
  '.ogg': 'audio/ogg',
  '.mp3': 'audio/mpeg',
  '.pdf': 'application/pdf',
  '.webm': 'video/webm',
  '.tgs': 'application/x-tgsticker',
};

interface GetFileResult {
  file_id: string;
  file_size?: number;
  file_path?: string;
}

/**
 * getFile, then `<apiRoot>/file/bot<token>/<file_path>` (https://core.telegram.org/bots/api#getfile).
 * The download URL holds the token, so no error here quotes it.
 */
export async function fetchTelegramFile(options: {
  channel: string;
  telegram: Telegram;
  botToken: string;
  apiRoot: string;
  maxFileBytes: number;
  fileId: string;
}): Promise<FetchedFile> {
  const { channel, maxFileBytes } = options;
  let info: GetFileResult;
  try {
    info = (await options.telegram.callApi(
      'getFile',
      { file_id: options.fileId },
      signalOption(AbortSignal.timeout(TIMEOUT_MS)),
    )) as GetFileResult;
  } catch (error) {
    const response = (error as { response?: { error_code?: number; description?: string } }).response;
    const description = response?.description ?? 'no answer';
    if (/file is too big/i.test(description)) throw fileTooLarge(channel, undefined, maxFileBytes);
    if (response?.error_code === 400 || response?.error_code === 404) {
      throw new HubError('file.not_found', `Telegram has no file with this id: ${description}`, {
        status: 404,
      });
    }
    if (response?.error_code !== undefined) {
      throw new HubError(
        'file.platform_refused',
        `Telegram refused getFile: ${response.error_code} ${description}. Fix: check the channel's botToken with \`hub validate --online\`.`,
        { status: 502, retryable: response.error_code >= 500 || response.error_code === 429 },
      );
    }
    throw downloadFailed(channel, error);
  }
  if (info.file_size !== undefined && info.file_size > maxFileBytes)
    throw fileTooLarge(channel, info.file_size, maxFileBytes);
  if (!info.file_path) {
    throw new HubError('file.not_found', 'Telegram has no downloadable path for this file any more', {
      status: 404,
    });
  }
  const root = options.apiRoot.replace(/\/+$/, '');
  let response: Response;
  try {
    response = await fetch(`${root}/file/bot${options.botToken}/${info.file_path}`, {
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (error) {
    throw downloadFailed(channel, error);
  }
  if (response.status === 404) {
    await response.body?.cancel();
    throw new HubError('file.not_found', 'Telegram no longer has this file (404 on download)', {
      status: 404,
    });
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new HubError('file.platform_refused', `Telegram answered ${response.status} to the download`, {
      status: 502,
      retryable: response.status >= 500,
    });
  }
  const body = await readCapped(response, channel, maxFileBytes);
  const name = posix.basename(info.file_path);
  const announced = response.headers.get('content-type')?.split(';')[0]?.trim();
  const mimeType =
    announced && announced !== 'application/octet-stream'
      ? announced
      : (BY_EXTENSION[posix.extname(name).toLowerCase()] ?? 'application/octet-stream');
  return { body, mimeType, name, size: body.length };
}
