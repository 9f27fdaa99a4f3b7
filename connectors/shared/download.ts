import { HubError } from '../../core/types';

/** Default per-channel cap on a fetched file: the Bot API's own getFile limit (20 MB). */
export const DEFAULT_MAX_FILE_BYTES = 20 * 1024 * 1024;

export function fileTooLarge(channel: string, size: number | undefined, cap: number): HubError {
  const what = size === undefined ? `more than ${cap} bytes` : `${size} bytes`;
  return new HubError(
    'file.too_large',
    `The file is ${what}, over channel "${channel}"'s maxFileBytes (${cap}). Fix: raise maxFileBytes in the channel block, or open the file on the platform.`,
    { status: 413 },
  );
}

/**
 * Read a download into memory, stopping as soon as it passes `cap` bytes: the announced length is
 * checked first, the bytes themselves as they arrive (a server may not announce it, or lie).
 */
export async function readCapped(response: Response, channel: string, cap: number): Promise<Buffer> {
  const announced = Number(response.headers.get('content-length') ?? Number.NaN);
  if (Number.isFinite(announced) && announced > cap) {
    await response.body?.cancel();
    throw fileTooLarge(channel, announced, cap);
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  if (!response.body) return Buffer.alloc(0);
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > cap) {
      await reader.cancel();
      throw fileTooLarge(channel, undefined, cap);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}

/** A network failure without its message: fetch errors can quote the URL, which may hold a token. */
export function downloadFailed(channel: string, error: unknown): HubError {
  const code = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name;
  return new HubError(
    'file.network',
    `Could not download the file from the platform of channel "${channel}" (${code}). Fix: retry later; check the channel's API URL if it persists.`,
    { status: 502, retryable: true, cause: error },
  );
}
