import { createHmac } from 'node:crypto';
import { constantTimeEqual } from '../../core/resilience/constant-time';

export const SIGNATURE_HEADER = 'x-hub-signature-256';

/**
 * Meta signs the raw body: `sha256=` + hex HMAC-SHA256 with the App Secret. Non-ASCII arrives as
 * `\uXXXX` escapes, so the bytes must be hashed exactly as received, never re-serialized.
 */
export function verifyWhatsAppSignature(appSecret: string, header: unknown, body: Buffer): boolean {
  if (typeof header !== 'string' || !header.startsWith('sha256=')) return false;
  const received = header.slice('sha256='.length);
  if (!/^[0-9a-fA-F]{64}$/.test(received)) return false;
  const expected = createHmac('sha256', appSecret).update(body).digest();
  return constantTimeEqual(expected, Buffer.from(received, 'hex'));
}

export function signWhatsApp(appSecret: string, body: Buffer | string): string {
  return `sha256=${createHmac('sha256', appSecret).update(body).digest('hex')}`;
}

/** Constant-time comparison of the webhook verify token; only the length leaks. */
export function verifyTokenMatches(received: unknown, expected: string): boolean {
  if (typeof received !== 'string' || received.length === 0) return false;
  return constantTimeEqual(expected, received);
}
