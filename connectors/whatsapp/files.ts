import { createHash } from 'node:crypto';
import type { FetchedFile } from '../../core/channels/types';
import { HubError } from '../../core/types';
import { downloadFailed, fileTooLarge, readCapped } from '../shared/download';
import { GraphApiError, type GraphClient } from './graph';

const EXTENSION: Record<string, string> = {
  'image/jpeg': '.jpg',
  'image/png': '.png',
  'image/webp': '.webp',
  'audio/ogg': '.ogg',
  'audio/mpeg': '.mp3',
  'audio/aac': '.aac',
  'audio/mp4': '.m4a',
  'video/mp4': '.mp4',
  'video/3gpp': '.3gp',
  'application/pdf': '.pdf',
  'text/plain': '.txt',
};

/** A refused Graph call as the admin files route reports it: 404 unknown media, 502 otherwise. */
function refused(channel: string, step: string, error: unknown): HubError {
  if (!(error instanceof GraphApiError)) return downloadFailed(channel, error);
  // Graph answers 400 #100 for an unknown (or expired, after 30 days) media id, and 404 on the download URL.
  if (error.status === 404 || (error.status === 400 && error.code === 100)) {
    return new HubError('file.not_found', `WhatsApp has no media with this id (${step}: ${error.message})`, {
      status: 404,
    });
  }
  const fix =
    error.status === 401 || error.code === 190
      ? " Fix: check the channel's accessToken with `hub validate --online`."
      : ' Fix: retry later.';
  return new HubError('file.platform_refused', `WhatsApp refused ${step}: ${error.message}.${fix}`, {
    status: 502,
    retryable: error.status === 429 || error.status >= 500,
  });
}

/**
 * An inbound attachment by its media id (Attachment.fileId): `GET /{media-id}` for a short-lived
 * URL and the size, then that URL with the access token
 * (https://developers.facebook.com/docs/whatsapp/cloud-api/reference/media). The announced size
 * is checked before the download and the bytes as they arrive; the SHA-256 Meta gives must match.
 */
export async function fetchWhatsAppFile(options: {
  channel: string;
  client: GraphClient;
  maxFileBytes: number;
  fileId: string;
}): Promise<FetchedFile> {
  const { channel, client, maxFileBytes, fileId } = options;
  if (!/^\d{1,32}$/.test(fileId))
    throw new HubError('file.not_found', 'Not a WhatsApp media id', { status: 404 });
  let info: Awaited<ReturnType<GraphClient['getMedia']>>;
  try {
    info = await client.getMedia(fileId);
  } catch (error) {
    throw refused(channel, `GET /${fileId}`, error);
  }
  if (info.file_size !== undefined && info.file_size > maxFileBytes)
    throw fileTooLarge(channel, info.file_size, maxFileBytes);
  let response: Response;
  try {
    response = await client.openMedia(fileId, info.url);
  } catch (error) {
    throw refused(channel, 'the media download', error);
  }
  const body = await readCapped(response, channel, maxFileBytes);
  if (info.sha256 && createHash('sha256').update(body).digest('hex') !== info.sha256.toLowerCase()) {
    throw new HubError(
      'file.corrupt',
      'The downloaded media does not match the SHA-256 WhatsApp gave for it. Fix: retry; the download was cut or altered.',
      { status: 502, retryable: true },
    );
  }
  const mimeType =
    info.mime_type?.split(';')[0]?.trim() ||
    response.headers.get('content-type')?.split(';')[0]?.trim() ||
    'application/octet-stream';
  return { body, mimeType, name: `${fileId}${EXTENSION[mimeType] ?? ''}`, size: body.length };
}
